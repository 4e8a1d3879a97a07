"""``hash_cache``: (path, size, mtime_ns) -> etag of local files, and its pruning.

Keys are the absolute path strings a sync walk produced, or, for a v2 upload hash with
non-default parts, ``path + "\\0v2:" + part_size`` (see ``jobs/sync/hashing.py``). Lookups go
through :class:`~kodo_jobs.executor.etag_pages.EtagPages` (pages in path order).

Pruning (:meth:`HashCache.prune`): a row stays useful only while its file exists. A tree that
churns (files created and deleted every run) would otherwise add rows forever; after a full
walk of a folder the rows under it whose file the walk did not see are dropped. The steady
state costs one indexed ``count`` of the rows under the folder: only when there are more rows
than walked files can one be stale, and only then are the walked paths loaded into a
temporary table to find it. v2 keys are not counted (a file may have one beside its plain
row): they go with their file's row, so the table never holds more file rows under a walked
folder than the walk saw files, and a tree with v2 keys does not pay the full prune every walk.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from kodo_jobs.executor.checkpoint.database import Database
from kodo_jobs.executor.etag_pages import EtagPages

SCHEMA = """
CREATE TABLE IF NOT EXISTS hash_cache (
  path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, etag TEXT NOT NULL
);
"""

PRUNE_BATCH = 5000
"""Walked paths inserted per ``executemany`` while a real prune loads them."""

# the file path of a key: a v2 key carries a NUL and a suffix after it (jobs/sync/hashing.py)
_BASE = "CASE WHEN instr(path, char(0)) > 0 THEN substr(path, 1, instr(path, char(0)) - 1) ELSE path END"


def folder_range(under: str) -> tuple[str, str]:
    """``(low, high)``: a key lies inside the folder ``under`` iff ``low <= key < high``.

    A range on the primary key instead of ``LIKE``: it uses the index, and ``%``/``_`` in a
    folder name are not wildcards. ``high`` is ``low`` with its final separator replaced by the
    next character, so ``/data/a`` never matches ``/data/ab/x`` (``/data/a0`` is the bound).
    """
    sep = os.sep
    low = under if under.endswith(sep) else under + sep
    return low, low[:-1] + chr(ord(sep) + 1)


class HashCache:
    """The ``hash_cache`` table of one state file."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pages = EtagPages(db.conn)

    def etag_for(self, path: str, size: int, mtime_ns: int) -> str | None:
        """The cached etag of ``path`` if size and mtime_ns still match."""
        with self._db.lock:
            row = self._pages.get(path)  # paged: a walk asks in path order (see etag_pages)
        return row[2] if row is not None and row[0] == size and row[1] == mtime_ns else None

    def remember(self, path: str, size: int, mtime_ns: int, etag: str) -> None:
        """Cache an etag (grouped commit: the caller counts the write)."""
        with self._db.lock:
            self._db.conn.execute(
                "INSERT OR REPLACE INTO hash_cache (path, size, mtime_ns, etag) VALUES (?, ?, ?, ?)",
                (path, size, mtime_ns, etag))
            self._pages.put(path, size, mtime_ns, etag)

    def count_under(self, under: str, *, files_only: bool = False) -> int:
        """Rows whose key lies inside the folder ``under`` (``files_only``: not the v2 keys)."""
        low, high = folder_range(under)
        only = " AND instr(path, char(0)) = 0" if files_only else ""
        with self._db.lock:
            return int(self._db.conn.execute(
                f"SELECT count(*) FROM hash_cache WHERE path >= ? AND path < ?{only}", (low, high)).fetchone()[0])

    def prune(self, under: str, walked: Iterable[str], walked_count: int,
              covers: Callable[[str], bool] | None = None) -> int:
        """Drop rows inside ``under`` whose file is not in ``walked``; returns how many.

        ``walked``: every file path a full walk of ``under`` saw (any order; paths outside
        ``under`` are ignored); ``walked_count``: how many. ``walked`` is only iterated when
        the folder has more rows than ``walked_count`` (see the module docstring).
        ``covers``: for a filtered walk, whether a path is one the walk would have seen had it
        existed; a row it does not cover is kept (another job with other filters may share
        the folder and its cached etags).
        """
        files = self.count_under(under, files_only=True)
        v2_keys = self.count_under(under) - files
        if files <= walked_count and v2_keys <= files:  # no file row, nor a v2 key without one, can be stale
            return 0
        low, high = folder_range(under)
        db = self._db
        with db.lock:
            db.conn.execute("CREATE TEMP TABLE IF NOT EXISTS walked (path TEXT PRIMARY KEY) WITHOUT ROWID")
            db.conn.execute("DELETE FROM temp.walked")
        batch: list[tuple[str]] = []
        for path in walked:
            batch.append((path,))
            if len(batch) >= PRUNE_BATCH:
                self._load(batch)
        self._load(batch)
        with db.lock:
            if covers is None:
                cur = db.conn.execute(
                    f"DELETE FROM hash_cache WHERE path >= ? AND path < ? AND {_BASE} NOT IN "
                    "(SELECT path FROM temp.walked)", (low, high))
                dropped = cur.rowcount
            else:
                unseen = [str(row[0]) for row in db.conn.execute(
                    f"SELECT DISTINCT {_BASE} FROM hash_cache WHERE path >= ? AND path < ? AND {_BASE} NOT IN "
                    "(SELECT path FROM temp.walked)", (low, high))]
                dropped = 0
                for path in unseen:
                    if covers(path):
                        # the file's row and its v2 keys (path + NUL + suffix)
                        dropped += db.conn.execute(
                            "DELETE FROM hash_cache WHERE path = ? OR (path >= ? AND path < ?)",
                            (path, path + "\0", path + "\x01")).rowcount
            db.conn.execute("DELETE FROM temp.walked")
            self._pages.clear()  # its window may hold rows that are gone now
            db.commit()
            return dropped

    def _load(self, batch: list[tuple[str]]) -> None:
        with self._db.lock:
            self._db.conn.executemany("INSERT OR IGNORE INTO temp.walked (path) VALUES (?)", batch)
        batch.clear()
