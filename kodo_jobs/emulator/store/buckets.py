"""The ``buckets`` table: which buckets exist and whether downloads from them need a signature.

Buckets are never deleted, so a name once seen to exist is remembered: that saves a query on
every upload and rs command. With ``auto_create`` a missing bucket with a name Kodo accepts is
made on first use (631 otherwise, and always for a name Kodo would refuse).
"""

from __future__ import annotations

from collections.abc import Callable

from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.errors import NoSuchBucket
from kodo_jobs.naming import bucket_problem


class Buckets:
    """Bucket rows; thread-safe (every statement runs under the database's lock)."""

    def __init__(self, db: Database, *, clock: Callable[[], float], auto_create: bool = False) -> None:
        self.db = db
        self.clock = clock
        self.auto_create = auto_create
        self._known: set[str] = set()

    def create(self, name: str, private: bool = False) -> None:
        """Create a bucket (idempotent; an existing bucket keeps its contents, takes the flag)."""
        with self.db.tx() as c:
            c.execute(
                "INSERT INTO buckets (name, private, created) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET private = excluded.private",
                (name, int(private), self.clock()),
            )

    def exists(self, name: str) -> bool:
        """Whether the bucket exists."""
        if name in self._known:
            return True
        found = self.db.one("SELECT 1 FROM buckets WHERE name = ?", (name,)) is not None
        if found:
            self._known.add(name)
        return found

    def require(self, name: str) -> None:
        """631 unless the bucket exists (or is created now, with ``auto_create``)."""
        if self.exists(name):
            return
        if self.auto_create and bucket_problem(name) is None:  # Kodo has no bucket with another name
            self.create(name)
            return
        raise NoSuchBucket()

    def is_private(self, name: str) -> bool:
        """Whether downloads from the bucket need a signed URL (631 if missing)."""
        row = self.db.one("SELECT private FROM buckets WHERE name = ?", (name,))
        if row is None:
            raise NoSuchBucket()
        return bool(row[0])

    def set_private(self, name: str, private: bool) -> None:
        """Change the bucket's private flag (631 if missing)."""
        self.require(name)
        with self.db.tx() as c:
            c.execute("UPDATE buckets SET private = ? WHERE name = ?", (int(private), name))

    def names(self) -> list[str]:
        """Every bucket name, sorted."""
        return [r[0] for r in self.db.query("SELECT name FROM buckets ORDER BY name")]
