"""The emulator's SQLite metadata database (WAL), shared by ``store`` and ``uploads``.

One connection, one lock: every statement runs under ``Database.lock`` (SQLite work is a few
microseconds per request; serialising it is simpler and safer than a connection per thread).
``Database.batch()`` groups many operations (an rs ``/batch`` request) into one transaction:
each ``tx()`` inside it is a savepoint, so one failing operation rolls back only itself, and
files queued with ``after_commit`` are removed only once the rows that named them are committed.
Object bytes live under the data folder as files, except small objects stored from memory,
whose bytes are rows of ``inline_blobs`` (see ``store/blobs.py``).

Layout of the data folder::

    <data>/meta.sqlite3        this database (WAL)
    <data>/objects/<xx>/<id>   object bytes, immutable once renamed into place (small ones: inline_blobs)
    <data>/uploads/v1/<id>     v1 block data (mkblk / bput)
    <data>/uploads/v2/<id>/<n> v2 part data
    <data>/tmp/                temp files; renamed into place, so a crash never exposes half objects
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

SqlValue = str | int | float | bytes | None
"""A statement parameter."""
Row = tuple[Any, ...]
"""A result row. The one untyped seam: SQLite gives each column the schema's type, and callers
unpack rows into typed values (``store/objects.py`` ``ObjectRow``, ``fops/engine.py`` ``JobRow``)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    private INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    fsize INTEGER NOT NULL,
    hash TEXT NOT NULL,
    md5 TEXT,
    mime TEXT NOT NULL,
    put_time INTEGER NOT NULL,
    type INTEGER NOT NULL DEFAULT 0,
    status INTEGER NOT NULL DEFAULT 0,
    end_user TEXT,
    metadata TEXT,
    expiration INTEGER,
    transitions TEXT,
    restore_status INTEGER,
    restore_started REAL,
    parts TEXT,
    blob TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inline_blobs (
    name TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS v1_blocks (
    id TEXT PRIMARY KEY,
    block_size INTEGER NOT NULL,
    size INTEGER NOT NULL,
    crc32 INTEGER NOT NULL,
    sha1 TEXT,
    generation INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS v2_uploads (
    id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    obj TEXT NOT NULL,
    created REAL NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS v2_parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    md5 TEXT NOT NULL,
    put_time INTEGER NOT NULL,
    file TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
"""


def connect_wal(path: Path) -> sqlite3.Connection:
    """An autocommit connection in WAL mode, usable from any thread.

    Callers serialise every statement with their own lock; ``synchronous=NORMAL`` is still
    crash-safe with WAL (a crash loses at most the last commits, never consistency).
    """
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


@contextmanager
def write_tx(conn: sqlite3.Connection, lock: threading.Lock | threading.RLock) -> Iterator[sqlite3.Connection]:
    """A write transaction under ``lock``: commits on success, rolls back on any error."""
    with lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


class Database:
    """A serialised SQLite connection in WAL mode, plus the data-folder paths."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.objects_dir = data_dir / "objects"
        self.v1_dir = data_dir / "uploads" / "v1"
        self.v2_dir = data_dir / "uploads" / "v2"
        self.tmp_dir = data_dir / "tmp"
        for d in (self.objects_dir, self.v1_dir, self.v2_dir, self.tmp_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._pending: list[Callable[[], None]] | None = None  # set while a batch() runs
        self._conn = connect_wal(data_dir / "meta.sqlite3")
        with self.lock:
            self._conn.executescript(_SCHEMA)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )

    def query(self, sql: str, params: tuple[SqlValue, ...] = ()) -> list[Row]:
        """Run a read and return every row."""
        with self.lock:
            return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple[SqlValue, ...] = ()) -> Row | None:
        """Run a read and return the first row or None."""
        with self.lock:
            row: Row | None = self._conn.execute(sql, params).fetchone()
            return row

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction under the lock; commits on success, rolls back on any error.
        Inside ``batch()`` it is a savepoint of the batch's transaction instead."""
        with self.lock:
            if self._pending is None:
                with write_tx(self._conn, self.lock) as conn:
                    yield conn
                return
            self._conn.execute("SAVEPOINT op")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK TO op")
                self._conn.execute("RELEASE op")
                raise
            self._conn.execute("RELEASE op")

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction (and the lock) for many operations; why: a commit per operation was
        most of a batch op's SQLite time. Rolls everything back only if the body raises."""
        with self.lock:
            if self._pending is not None:  # already inside a batch: join it
                yield
                return
            pending: list[Callable[[], None]] = []
            self._conn.execute("BEGIN IMMEDIATE")
            self._pending = pending
            try:
                yield
            except BaseException:
                self._pending = None
                self._conn.execute("ROLLBACK")
                raise
            self._pending = None
            self._conn.execute("COMMIT")
        for action in pending:
            action()

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` now, or when the enclosing ``batch()`` has committed (file removals
        for rows deleted in it: a crash before the commit must not lose the bytes)."""
        with self.lock:
            if self._pending is not None:
                self._pending.append(action)
                return
        action()

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        with self.lock:
            self._conn.close()
