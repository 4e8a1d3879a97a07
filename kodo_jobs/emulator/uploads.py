"""In-progress resumable uploads (filled in below)."""

from __future__ import annotations

from collections.abc import Callable

from kodo_jobs.emulator.db import Database


class Uploads:
    """Resumable upload sessions: v1 blocks (ctx) and v2 uploads (uploadId)."""

    def __init__(self, db: Database, *, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock
