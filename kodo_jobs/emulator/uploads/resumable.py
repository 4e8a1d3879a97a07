"""``Uploads``: the emulator's in-progress resumable uploads, v1 blocks and v2 sessions.

Both kinds live in the metadata database and their bytes under ``<data>/uploads``, so they
survive a restart (a client resumes by re-sending only missing parts). Both expire after
:data:`SESSION_SECONDS` (7 days, as Kodo documents for uploadIds); expired ones are purged at
start-up.

The caller (``handlers/up.py``) stores the assembled object and then calls ``v1.finish`` /
``v2.finish``; a refused completion (614, 403 ...) leaves the session usable, as Kodo does.
"""

from __future__ import annotations

from collections.abc import Callable

from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.uploads.blocks import Blocks
from kodo_jobs.emulator.uploads.sessions import Sessions

SESSION_SECONDS = 7 * 86400


class Uploads:
    """``v1`` (:class:`.blocks.Blocks`) and ``v2`` (:class:`.sessions.Sessions`) of one data folder."""

    def __init__(self, db: Database, *, clock: Callable[[], float]) -> None:
        self.db = db
        self.v1 = Blocks(db, clock=clock, lifetime=SESSION_SECONDS)
        self.v2 = Sessions(db, clock=clock, lifetime=SESSION_SECONDS)
        self.purge_expired()

    def purge_expired(self) -> None:
        """Forget blocks and sessions whose lifetime is over, and their bytes."""
        self.v1.purge_expired()
        self.v2.purge_expired()

    def count_sessions(self) -> dict[str, int]:
        """Open v1 blocks and v2 uploads (stats, tests)."""
        return {"v1_blocks": self.v1.count(), "v2_uploads": self.v2.count()}
