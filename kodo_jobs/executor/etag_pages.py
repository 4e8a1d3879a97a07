"""Hash-cache lookups in pages: one ordered query per run of paths instead of one per file.

Why: a no-op resync looks up every walked file's cached etag; one ``SELECT`` per file was a
large share of its wall time (figures: docs/bench.md). The planner asks in walk order, which
is (nearly always) path order, so a page of the next rows in path order answers the following
lookups from memory.

The page is a window ``[low, high]`` of ``hash_cache`` in which *every* row is held: a path
inside the window that is not in the page has no row. A lookup outside the window, or one
that goes backwards (run workers, unusual name orders), falls back to a point query and never
gives a wrong answer; only the speed depends on the order. Writes through the same checkpoint
update the page (:meth:`EtagPages.put`), so it never serves a value older than one this
process stored. Not thread-safe on its own: the checkpoint calls it under its lock.
"""

from __future__ import annotations

import sqlite3

PAGE_ROWS = 512
"""Rows read per page (about 512 files of a walk per query)."""

_Row = tuple[int, int, str]  # size, mtime_ns, etag


class EtagPages:
    """Paged, read-mostly view of ``hash_cache`` for lookups in increasing path order."""

    def __init__(self, db: sqlite3.Connection, rows: int = PAGE_ROWS) -> None:
        self._db = db
        self._rows = rows
        self._values: dict[str, _Row] = {}
        self._low: str | None = None
        self._high: str | None = None  # None with a low: the window reaches the end of the table
        self._last = ""
        self.queries = 0
        """Queries sent (tests check that an ordered pass needs few)."""

    def _inside(self, path: str) -> bool:
        return self._low is not None and self._low <= path and (self._high is None or path <= self._high)

    def get(self, path: str) -> _Row | None:
        """The cached (size, mtime_ns, etag) of ``path``, or None when it has no row."""
        forward = path >= self._last
        self._last = path
        if self._inside(path):
            return self._values.get(path)
        if not forward:  # out of order: a page would likely be wasted
            self.queries += 1
            row = self._db.execute("SELECT size, mtime_ns, etag FROM hash_cache WHERE path = ?",
                                   (path,)).fetchone()
            return None if row is None else (int(row[0]), int(row[1]), str(row[2]))
        self._load(path)
        return self._values.get(path)

    def _load(self, start: str) -> None:
        self.queries += 1
        rows = self._db.execute(
            "SELECT path, size, mtime_ns, etag FROM hash_cache WHERE path >= ? ORDER BY path LIMIT ?",
            (start, self._rows)).fetchall()
        self._values = {r[0]: (r[1], r[2], r[3]) for r in rows}  # the columns' types already
        self._low = start
        self._high = str(rows[-1][0]) if len(rows) >= self._rows else None

    def put(self, path: str, size: int, mtime_ns: int, etag: str) -> None:
        """Keep the page true after this process wrote ``path``'s row.

        A page that reaches the end of the table holds every later path, so on a cold cache
        each newly hashed file would land in it: past twice a page's rows it is dropped (the
        next lookup reads a fresh one), which keeps memory flat over a million new etags.
        """
        if self._inside(path):
            if len(self._values) >= 2 * self._rows:
                self.clear()
                return
            self._values[path] = (size, mtime_ns, etag)

    def clear(self) -> None:
        """Forget the page (after writes this class did not see)."""
        self._values = {}
        self._low = self._high = None
