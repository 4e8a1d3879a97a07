"""``uploads``: action id -> the client's serialised upload session (opaque JSON).

A session is committed before :meth:`Uploads.save` returns, because a part must be recorded
before it is counted: a killed run resumes from exactly the parts the file says were sent.
"""

from __future__ import annotations

from collections.abc import Callable

from kodo_jobs.executor.checkpoint.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (action_id TEXT PRIMARY KEY, state TEXT NOT NULL, updated REAL NOT NULL);
"""


class Uploads:
    """The ``uploads`` table of one state file."""

    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock

    def all(self) -> list[tuple[str, str, float]]:
        """Saved upload sessions: (action id, state JSON, last update time)."""
        with self._db.lock:
            rows: list[tuple[str, str, float]] = self._db.conn.execute(
                "SELECT action_id, state, updated FROM uploads ORDER BY action_id").fetchall()
            return rows

    def load(self, action_id: str) -> str | None:
        """The saved upload session of an action."""
        with self._db.lock:
            row: tuple[str] | None = self._db.conn.execute(
                "SELECT state FROM uploads WHERE action_id = ?", (action_id,)).fetchone()
        return None if row is None else str(row[0])

    def save(self, action_id: str, state_json: str) -> None:
        """Store an upload session durably (committed before returning)."""
        with self._db.lock:
            self._db.conn.execute("INSERT OR REPLACE INTO uploads (action_id, state, updated) VALUES (?, ?, ?)",
                                  (action_id, state_json, self._clock()))
            self._db.commit()

    def drop(self, action_id: str) -> None:
        """Forget an upload session (committed before returning, when there was one).

        Most calls find no row (a form upload never saved a session): they cost no commit,
        which would otherwise be one fsync-bound transaction per uploaded file.
        """
        with self._db.lock:
            cur = self._db.conn.execute("DELETE FROM uploads WHERE action_id = ?", (action_id,))
            if cur.rowcount > 0:
                self._db.commit()

    def drop_orphans(self, job: str) -> int:
        """Forget upload sessions of ``job`` that no pending action can resume; returns how many.

        Called after a job ended ok: a session left by a file that was deleted or renamed since
        would otherwise be shown by ``status`` forever (Kodo expires the upload itself).
        """
        with self._db.lock:
            cur = self._db.conn.execute(
                "DELETE FROM uploads WHERE substr(action_id, 1, ?) = ? AND action_id NOT IN "
                "(SELECT id FROM actions WHERE job = ? AND status = 'pending')",
                (len(job) + 1, job + "\x1f", job))
            self._db.commit()
            return cur.rowcount
