"""Seed a stopped emulator's data folder with many small objects straight into its database.

Uploading a million objects over HTTP would take most of an hour on this machine; the
planning-at-scale scenarios only need the objects to be listed (and stat-ed, deleted or
compared by hash), so rows go into the emulator's SQLite tables directly (``objects`` plus one
``inline_blobs`` row each, as the emulator stores small uploads), in one transaction. The
emulator must not be running on the folder. How long seeding takes: docs/bench.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

ROWS = 20_000
"""Rows per ``executemany``."""


def seed_objects(data_dir: Path, bucket: str, count: int, key_of: Callable[[int], str], data: bytes) -> float:
    """``count`` objects ``key_of(i)``, each holding ``data``; returns the seconds it took."""
    from kodo_jobs.emulator.db import Database
    from kodo_jobs.kodo.etag import etag_bytes

    started = time.perf_counter()
    db = Database(data_dir)
    etag = etag_bytes(data)
    now = time.time()
    put_time = int(now * 10_000_000)

    def objects() -> Iterator[tuple[object, ...]]:
        for i in range(count):
            yield (bucket, key_of(i), len(data), etag, None, "application/octet-stream", put_time, 0, 0,
                   None, None, None, None, None, None, None, f"db:seed{i:08d}")

    try:
        with db.tx() as conn:
            conn.execute("INSERT INTO buckets (name, private, created) VALUES (?, 0, ?) ON CONFLICT(name) DO NOTHING",
                         (bucket, now))
            rows = objects()
            while chunk := list(islice(rows, ROWS)):
                conn.executemany(
                    "INSERT OR REPLACE INTO objects (bucket, key, fsize, hash, md5, mime, put_time, type, status, "
                    "end_user, metadata, expiration, transitions, restore_status, restore_started, parts, blob) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", chunk)
                conn.executemany("INSERT OR REPLACE INTO inline_blobs (name, data) VALUES (?, ?)",
                                 [(row[-1], data) for row in chunk])
    finally:
        db.close()
    return time.perf_counter() - started
