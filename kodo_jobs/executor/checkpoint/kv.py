"""``kv``: small values a job kind keeps between runs (e.g. pfop persistent ids).

Every write is committed before it returns: a value is stored because a rerun must find it
(a resubmitted pfop would be a second, paid, job).
"""

from __future__ import annotations

from kodo_jobs.executor.checkpoint.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
"""


class KeyValues:
    """The ``kv`` table of one state file."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, if any."""
        with self._db.lock:
            row: tuple[str] | None = self._db.conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set(self, key: str, value: str | None) -> None:
        """Durably store (or, with None, forget) a value (committed before returning)."""
        with self._db.lock:
            if value is None:
                self._db.conn.execute("DELETE FROM kv WHERE k = ?", (key,))
            else:
                self._db.conn.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, value))
            self._db.commit()
