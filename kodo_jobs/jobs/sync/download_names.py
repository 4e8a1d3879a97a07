"""The local names a download sync has planned so far, to refuse keys that would share a path.

Two keys collide when their local paths are one file on a case-insensitive file system (``A.txt``
and ``a.txt``, ``straße`` and ``STRASSE``), or when one needs a directory where another has a
file (``dir`` then ``dir/ok.txt``). Listing order (UTF-8 bytes) does not put such keys next to
each other, so every planned name must be remembered; over a million-key listing a dict of
them grew by about 200 MB. The names live in a temporary SQLite table instead (a private file
deleted on close, with SQLite's own small page cache), as :mod:`kodo_jobs.jobs.seen` does for
duplicate keys, and memory stays flat.

Directories are registered once per run of keys below them: a directory already registered
can never become a file (a file whose name is a registered directory is refused), so its
ancestors need no second look; the chain of the latest keys' directories is kept in memory.
"""

from __future__ import annotations

import sqlite3
from types import TracebackType

KNOWN_DIRS = 4096
"""Directories remembered in memory before the set is started again (it only saves queries)."""


class LocalNames:
    """Casefolded local names (files and directories) with the first key that needed each."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("CREATE TABLE names (fold TEXT PRIMARY KEY, key TEXT NOT NULL, dir INTEGER NOT NULL) "
                         "WITHOUT ROWID")
        self._db.execute("BEGIN")  # one transaction: nothing here needs to survive a crash
        self._known: set[str] = set()
        """Casefolded directories known to be registered as directories."""

    def _find(self, fold: str) -> tuple[str, int] | None:
        row = self._db.execute("SELECT key, dir FROM names WHERE fold = ?", (fold,)).fetchone()
        return (str(row[0]), int(row[1])) if row is not None else None

    def collision(self, rel: str, key: str) -> str | None:
        """Why ``key`` (local path ``rel``) cannot have its own file next to the keys planned
        before it, or None (and it is remembered). The first key in listing order wins."""
        fold = rel.casefold()
        found = self._find(fold)
        if found is not None:
            other, is_dir = found
            if is_dir:
                return f"its local path is a directory holding key {other!r}"
            return (f"same local file as key {other!r} on a case-insensitive file system "
                    "(keys differing only in case)")
        parts = fold.split("/")
        known = self._known
        parent = fold.rpartition("/")[0]
        new_dirs: list[str] = []
        if parent and parent not in known:
            for i in range(1, len(parts)):
                ancestor = "/".join(parts[:i])
                if ancestor in known:
                    continue
                holder = self._find(ancestor)
                if holder is not None and not holder[1]:
                    return (f"needs {'/'.join(rel.split('/')[:i])!r} to be a directory, but key {holder[0]!r} "
                            "is a file there")
                new_dirs.append(ancestor)
        db = self._db
        db.execute("INSERT INTO names (fold, key, dir) VALUES (?, ?, 0)", (fold, key))
        if new_dirs:
            db.executemany("INSERT INTO names (fold, key, dir) VALUES (?, ?, 1) ON CONFLICT (fold) DO NOTHING",
                           [(d, key) for d in new_dirs])
            if len(known) > KNOWN_DIRS:
                known.clear()
            known.update(new_dirs)
        return None

    def close(self) -> None:
        """Drop the temporary database."""
        self._db.close()

    def __enter__(self) -> LocalNames:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
