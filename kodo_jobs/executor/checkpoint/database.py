"""The state file's connection: opening, the format checks, damage errors, grouped commits.

Every table module (:mod:`.runs`, :mod:`.actions`, :mod:`.uploads`, :mod:`.hash_cache`,
:mod:`.kv`) works through one :class:`Database`: one connection shared by the threads of one
process behind one lock, so the tables can never disagree about what is committed.

Opening judges an existing file before anything is written to it: the SQLite header, then
the ``meta`` table (format marker and schema version: anything else is a foreign or corrupt
file and raises :class:`StateFileError`, never silently replaced), then ``PRAGMA
quick_check`` (the b-tree structure of every page; cheaper than ``integrity_check``, which
also cross-checks index contents; figures: docs/bench.md). A damaged file is refused with
exit 2 naming it and left untouched. Damage that only shows later (a page the check cannot
judge, or the file changed under a run) surfaces as ``sqlite3.DatabaseError`` wherever it is
read; the commands wrap their whole work in :func:`state_file_errors`, which turns it into the
same exit 2 naming the file. An empty (0-byte) file is a state file with no history, exactly
like a missing one: a crash between creating the file and SQLite's first write leaves one,
and refusing it would only block the next run; ``run``/``plan`` initialise it in place.

Commits: outcomes and hash-cache rows are committed in groups (:meth:`Database.flush`);
anything that must survive a kill right after the call commits at once. WAL with
``synchronous=NORMAL`` survives a killed process (only a power loss may drop the last
transactions, which a rerun redoes).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from kodo_jobs.errors import StateFileError

FORMAT = "kodo-jobs-state"
SCHEMA_VERSION = 1

META_SCHEMA = "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);"

BUSY_TIMEOUT_MS = 30_000
"""How long a statement waits for another connection's lock before failing."""
CHECKPOINT_WAIT_MS = 1000
"""How long the WAL truncation after a ``VACUUM`` waits for readers."""
GROUP_WRITES = 200
"""Grouped writes committed together by :meth:`Database.flush` (``force=False``)..."""
GROUP_SECONDS = 0.5
"""...or after this long, whichever comes first."""
WAL_LIMIT = 4 << 20
"""Bytes the ``-wal`` file is cut back to after a checkpoint (``journal_size_limit``): without
it the WAL keeps the size of the largest burst it ever held (a first sync's plan, a vacuum)."""
VACUUM_FREE_SHARE = 0.5
""":meth:`Database.vacuum_if_sparse` rewrites the file when more than this share is free pages..."""
VACUUM_MIN_BYTES = 4 << 20
"""...and the file is at least this large (a small file's free pages are not worth a rewrite)."""


def damaged(path: Path, detail: object) -> StateFileError:
    """The error for a state file SQLite cannot read back: exit 2, the file named and kept."""
    return StateFileError(
        f"state file {path} is damaged ({detail}); it was left untouched: move it away (or pass "
        "--state PATH) to start afresh - finished work is found again by the next plan")


@contextlib.contextmanager
def state_file_errors(path: Path) -> Iterator[None]:
    """Turn any ``sqlite3.DatabaseError`` raised inside into a :class:`StateFileError` naming
    ``path`` (exit 2): :func:`damaged` for a malformed file, and for an operational failure
    (disk full, I/O error, locked past the busy timeout) a message saying so."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise StateFileError(
            f"cannot use state file {path} ({exc}): check free space and permissions, and that no other "
            "program holds it open") from exc
    except sqlite3.DatabaseError as exc:
        raise damaged(path, f"{type(exc).__name__}: {exc}") from exc


class Database:
    """One opened state file: the connection, its lock and the grouped-commit bookkeeping.

    ``schema`` is the tables' DDL (``CREATE ... IF NOT EXISTS``), run by a writer on every
    open so a file from before a table existed gains it. ``tables`` is the set of table names
    the file had when it was opened (a read-only view must not query a table it lacks).
    """

    def __init__(self, path: Path, schema: str, *, create: bool = True, readonly: bool = False) -> None:
        self.path = path
        self.lock = threading.RLock()
        """Held around every statement: the connection is shared by the run's threads."""
        existed = path.exists()
        self.tables: frozenset[str] = frozenset()
        if not existed and not create:
            raise StateFileError(f"no state file at {path}: nothing has run yet")
        if existed:
            _check_header(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            # create it 0600 before SQLite opens it: the file may hold paths and keys
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        try:
            self.conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None,
                                        timeout=30)
        except sqlite3.DatabaseError as exc:
            raise StateFileError(f"cannot open state file {path}: {exc}") from exc
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # judge an existing file before writing anything to it: a foreign file stays untouched
            fresh = self._check_existing() if existed else True
            if not fresh:
                self._check_pages()
            if not readonly:
                self.conn.execute("PRAGMA journal_mode = WAL")
                self.conn.execute("PRAGMA synchronous = NORMAL")
                self.conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
                self.conn.executescript("BEGIN;" + META_SCHEMA + schema + "COMMIT;")
                if fresh:
                    self.conn.executescript(
                        f"BEGIN; INSERT OR REPLACE INTO meta (k, v) VALUES ('format', '{FORMAT}'), "
                        f"('schema', '{SCHEMA_VERSION}'); COMMIT;")
                self.tables = self._table_names()
            elif fresh:
                raise StateFileError(f"{path} is empty: nothing has run yet")
            self.conn.execute("BEGIN")
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise damaged(path, exc) from exc
        except StateFileError:
            self.conn.close()
            raise
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.chmod(f"{path}{suffix}", 0o600)
        self.pending_writes = 0
        self._last_commit = time.monotonic()

    # -- opening ---------------------------------------------------------------------------

    def _table_names(self) -> frozenset[str]:
        return frozenset(str(r[0]) for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))

    def _check_pages(self) -> None:
        """``PRAGMA quick_check``: refuse a file whose pages SQLite finds damaged."""
        rows: list[tuple[str]] = self.conn.execute("PRAGMA quick_check(5)").fetchall()
        problems = [str(r[0]) for r in rows]
        if problems != ["ok"]:
            raise damaged(self.path, "; ".join(problems))

    def _check_existing(self) -> bool:
        """Read-only checks of an existing file; True when it is an empty database (never used)."""
        names = {str(r[0]) for r in self.conn.execute("SELECT name FROM sqlite_master").fetchall()}
        self.tables = self._table_names()
        if not names:
            return True
        if "meta" not in names:
            raise StateFileError(
                f"{self.path} is not a kodo-jobs state file (an SQLite database of something else); "
                "it was left untouched: move it away or pass --state PATH")
        rows: dict[str, str] = dict(self.conn.execute("SELECT k, v FROM meta").fetchall())
        if rows.get("format") != FORMAT:
            raise StateFileError(
                f"{self.path} is not a kodo-jobs state file (format {rows.get('format')!r}); "
                "it was left untouched: move it away or pass --state PATH")
        if rows.get("schema") != str(SCHEMA_VERSION):
            raise StateFileError(
                f"{self.path} has state schema {rows.get('schema')}, this kodo-jobs reads {SCHEMA_VERSION}: "
                "use the matching kodo-jobs version or move the file away"
            )
        return False

    # -- commits ---------------------------------------------------------------------------

    def close(self) -> None:
        """Commit and close."""
        with self.lock:
            with contextlib.suppress(sqlite3.Error):
                if self.conn.in_transaction:
                    self.conn.execute("COMMIT")
            self.conn.close()

    def commit(self) -> None:
        """Commit now and open the next transaction (callers hold :attr:`lock`)."""
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")
        self.conn.execute("BEGIN")
        self.pending_writes = 0
        self._last_commit = time.monotonic()

    def wrote(self) -> None:
        """Count one grouped write and commit when the group is full or old enough."""
        with self.lock:
            self.pending_writes += 1
        self.flush(force=False)

    def flush(self, *, force: bool = True) -> None:
        """Commit grouped writes (always when ``force``; else every :data:`GROUP_WRITES` writes
        or :data:`GROUP_SECONDS`)."""
        with self.lock:
            if (force or self.pending_writes >= GROUP_WRITES
                    or time.monotonic() - self._last_commit > GROUP_SECONDS):
                self.commit()

    def free_pages(self) -> tuple[int, int, int]:
        """``(page_count, freelist_count, page_size)`` of the main file."""
        with self.lock:
            pages = int(self.conn.execute("PRAGMA page_count").fetchone()[0])
            free = int(self.conn.execute("PRAGMA freelist_count").fetchone()[0])
            size = int(self.conn.execute("PRAGMA page_size").fetchone()[0])
        return pages, free, size

    def vacuum_if_sparse(self) -> bool:
        """``VACUUM`` when most of a large file is free pages; True when it did.

        SQLite reuses free pages for new rows, so churn alone does not grow the file; only a
        large one-off deletion (a pruned folder, a much smaller plan) leaves a file mostly
        empty, and then a rewrite gives the space back. The rewrite costs about as much as
        copying the file (figures: docs/bench.md), so it is only done past
        :data:`VACUUM_FREE_SHARE` and :data:`VACUUM_MIN_BYTES`. A failure (another process
        reading a snapshot too long, disk full) is not an error: the file is just not smaller.
        """
        pages, free, size = self.free_pages()
        if pages * size < VACUUM_MIN_BYTES or free <= pages * VACUUM_FREE_SHARE:
            return False
        with self.lock:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")
            try:
                self.conn.execute("VACUUM")
                # the rewrite went through the WAL: give that space back too, but a reader (a
                # `status`) on an older snapshot may delay it by a second at most, not the
                # busy timeout; a later checkpoint then cuts the WAL back to WAL_LIMIT
                self.conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError:
                return False
            finally:
                self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                self.commit()
        return True

    def count(self, table: str) -> int:
        """Rows of ``table`` (0 when this file has no such table)."""
        if table not in self.tables:
            return 0
        with self.lock:
            return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise StateFileError(f"cannot read state file {path}: {exc}") from exc
    if head and head != b"SQLite format 3\x00":
        raise StateFileError(
            f"{path} is not a kodo-jobs state file (not SQLite); it was left untouched: "
            "move it away or pass --state PATH"
        )
