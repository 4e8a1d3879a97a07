"""The ``objects`` table: one row per live key, mapped to and from :class:`ObjectInfo`.

Knows rows, not bytes (a row names its blob, see :mod:`.blobs`) and not buckets. Expiry is
enforced here, lazily: a row whose ``expiration`` has come reads as missing everywhere (get,
range, count), like after Kodo's background cleanup; the row itself stays until the key is
written again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence

from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.store.object_info import ObjectInfo

COLUMNS = (
    "bucket, key, fsize, hash, md5, mime, put_time, type, status, end_user, metadata, expiration,"
    " transitions, restore_status, restore_started, parts, blob"
)
ObjectRow = tuple[str, str, int, str, str | None, str, int, int, int, str | None, str | None, int | None,
                  str | None, int | None, float | None, str | None, str]
"""One ``objects`` row in :data:`COLUMNS` order (metadata, transitions and parts are JSON text)."""
_IN_CHUNK = 500  # keys per ``IN (...)`` query: well under SQLite's bound-parameter limit


def row_to_obj(row: ObjectRow) -> ObjectInfo:
    """The object a row describes."""
    (bucket, key, fsize, hash_, md5, mime, put_time, type_, status, end_user, metadata,
     expiration, transitions, restore_status, restore_started, parts, blob) = row
    return ObjectInfo(
        bucket=bucket, key=key, fsize=fsize, hash=hash_, md5=md5, mime=mime, put_time=put_time,
        type=type_, status=status, end_user=end_user,
        metadata=json.loads(metadata) if metadata else {},
        expiration=expiration, transitions=json.loads(transitions) if transitions else {},
        restore_status=restore_status, restore_started=restore_started,
        parts=tuple(json.loads(parts)) if parts else None, blob=blob,
    )


class ObjectTable:
    """Reads and writes of ``objects`` rows; writes take the caller's transaction."""

    def __init__(self, db: Database, *, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock

    def get(self, bucket: str, key: str) -> ObjectInfo | None:
        """The live object at (bucket, key), or None (missing or expired)."""
        row = self.db.one(f"SELECT {COLUMNS} FROM objects WHERE bucket = ? AND key = ?", (bucket, key))
        if not row:
            return None
        obj = row_to_obj(row)
        if obj.expiration is not None and obj.expiration <= self.clock():
            return None  # expired (deleteAfterDays / lifecycle): gone, as Kodo's cleanup would make it
        return obj

    def insert(self, c: sqlite3.Connection, obj: ObjectInfo) -> None:
        """Write ``obj``'s row, replacing the key's previous row."""
        c.execute(
            f"INSERT OR REPLACE INTO objects ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (obj.bucket, obj.key, obj.fsize, obj.hash, obj.md5, obj.mime, obj.put_time, obj.type,
             obj.status, obj.end_user, json.dumps(obj.metadata) if obj.metadata else None,
             obj.expiration, json.dumps(obj.transitions) if obj.transitions else None,
             obj.restore_status, obj.restore_started,
             json.dumps(list(obj.parts)) if obj.parts is not None else None, obj.blob),
        )

    @staticmethod
    def delete(c: sqlite3.Connection, bucket: str, key: str) -> None:
        """Remove the key's row."""
        c.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))

    @staticmethod
    def delete_many(c: sqlite3.Connection, targets: list[tuple[str, str]]) -> None:
        """Remove the rows of many (bucket, key) pairs in one ``executemany``."""
        c.executemany("DELETE FROM objects WHERE bucket = ? AND key = ?", targets)

    @staticmethod
    def live_blobs(c: sqlite3.Connection, bucket: str, keys: Sequence[str], now: float) -> dict[str, str]:
        """key -> blob of the live objects among ``keys`` (``IN`` queries of :data:`_IN_CHUNK`
        keys: one query per chunk instead of one per key)."""
        live: dict[str, str] = {}
        for start in range(0, len(keys), _IN_CHUNK):
            part = keys[start:start + _IN_CHUNK]
            marks = ",".join("?" * len(part))
            rows: list[tuple[str, str, int | None]] = c.execute(
                f"SELECT key, blob, expiration FROM objects WHERE bucket = ? AND key IN ({marks})",
                (bucket, *part)).fetchall()
            # an expired object reads as missing (and its row stays, as with a single delete)
            live.update((key, blob) for key, blob, exp in rows if exp is None or exp > now)
        return live

    def range(self, bucket: str, start: str, inclusive: bool, upper: str | None, n: int) -> list[ObjectRow]:
        """Up to ``n`` live rows of ``bucket`` with ``start <(=) key < upper``, in key order."""
        op = ">=" if inclusive else ">"
        sql = (f"SELECT {COLUMNS} FROM objects WHERE bucket = ? AND key {op} ?"
               " AND (expiration IS NULL OR expiration > ?)")
        params: list[str | int] = [bucket, start, int(self.clock())]
        if upper is not None:
            sql += " AND key < ?"
            params.append(upper)
        sql += " ORDER BY key LIMIT ?"
        params.append(n)
        return self.db.query(sql, tuple(params))

    def count(self) -> int:
        """Number of live objects in every bucket."""
        row = self.db.one("SELECT COUNT(*) FROM objects WHERE expiration IS NULL OR expiration > ?",
                          (int(self.clock()),))
        return int(row[0]) if row else 0
