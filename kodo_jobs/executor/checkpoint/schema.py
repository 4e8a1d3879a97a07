"""The state file's tables, one module each, and what ``status`` shows about their size.

``meta`` (format marker and schema version: see :mod:`.database`), ``runs`` (:mod:`.runs`),
``actions`` and ``tallies`` (:mod:`.actions`), ``uploads`` (:mod:`.uploads`), ``hash_cache``
(:mod:`.hash_cache`), ``kv`` (:mod:`.kv`). Each module owns its DDL and its SQL; the schema
version (:data:`~.database.SCHEMA_VERSION`) covers them all.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from kodo_jobs.executor.checkpoint import actions, hash_cache, kv, runs, uploads
from kodo_jobs.executor.checkpoint.database import Database

DDL = runs.SCHEMA + actions.SCHEMA + uploads.SCHEMA + hash_cache.SCHEMA + kv.SCHEMA
"""Every table but ``meta`` (``CREATE ... IF NOT EXISTS``: a writer adds a missing one)."""


@dataclass(frozen=True, slots=True)
class SizeInfo:
    """How big a state file is and which tables make it so (``kodo-jobs status``)."""

    file_bytes: int
    """The main file plus its ``-wal`` (what the disk holds)."""
    free_bytes: int
    """Free pages inside the main file (reused by later rows; see ``vacuum_if_sparse``)."""
    hash_cache_rows: int
    actions_rows: int
    runs_rows: int


def size_info(db: Database) -> SizeInfo:
    """Sizes and row counts of the big tables (counts are indexed scans, cheap at this scale)."""
    total = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(OSError):  # no WAL right now (a clean close removes it)
            total += os.stat(f"{db.path}{suffix}").st_size
    _pages, free, page_size = db.free_pages()
    return SizeInfo(file_bytes=total, free_bytes=free * page_size, hash_cache_rows=db.count("hash_cache"),
                    actions_rows=db.count("actions"), runs_rows=db.count("runs"))
