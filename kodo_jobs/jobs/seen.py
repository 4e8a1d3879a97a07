"""Which keys of a long stream were seen before, and on which line, without holding the stream.

A fetch job refuses two URLs for one key and a prefetch job fetches a key once, however long
their input file is. A Python dict of a million keys costs about 200 MB; here the keys go into
a temporary SQLite database (``sqlite3.connect("")``: a private file deleted on close, with
SQLite's own small page cache), so memory stays flat whatever the input size.
"""

from __future__ import annotations

import sqlite3
from types import TracebackType


class SeenKeys:
    """Remembers the first line of every key it is shown; use as a context manager."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID")
        self._db.execute("BEGIN")  # one transaction: nothing here needs to survive a crash

    def first_line(self, key: str, line: int) -> int | None:
        """None the first time ``key`` is shown (``line`` is remembered); else the line it was first on."""
        cur = self._db.execute("INSERT INTO seen (key, line) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, line))
        if cur.rowcount == 1:
            return None
        row = self._db.execute("SELECT line FROM seen WHERE key = ?", (key,)).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Drop the temporary database."""
        self._db.close()

    def __enter__(self) -> SeenKeys:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
