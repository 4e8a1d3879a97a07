"""Crash leftovers, swept once when an emulator opens its data folder.

Every write puts its bytes in place first and records them in the database second (so a crash
never exposes half an object). A process killed between the two steps leaves bytes that no row
names: an object blob under ``objects/``, a v1 block under ``uploads/v1/``, a v2 part or a whole
v2 session folder under ``uploads/v2/``. Nothing can ever reach them, so they are removed before
the emulator serves (``tmp/`` is emptied separately: everything in it is unfinished by
definition). Runs before any request, so no write can be in flight.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from dataclasses import dataclass

from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.store.blobs import INLINE_PREFIX
from kodo_jobs.emulator.uploads.in_place import ASSEMBLY

log = logging.getLogger("kodo_jobs.emulator.sweep")


@dataclass(frozen=True)
class Swept:
    """How many leftovers of each kind were removed."""

    blobs: int = 0
    blocks: int = 0
    parts: int = 0
    sessions: int = 0

    @property
    def total(self) -> int:
        """All leftovers removed."""
        return self.blobs + self.blocks + self.parts + self.sessions


def _remove(path: str) -> bool:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
        return True
    return False


def _sweep_blobs(db: Database) -> int:
    known = {row[0] for row in db.query("SELECT blob FROM objects") if not str(row[0]).startswith(INLINE_PREFIX)}
    removed = 0
    root = db.objects_dir
    for folder in os.scandir(root):
        if not folder.is_dir(follow_symlinks=False):
            continue
        for entry in os.scandir(folder.path):
            if f"{folder.name}/{entry.name}" not in known and _remove(entry.path):
                removed += 1
    return removed


def _sweep_blocks(db: Database) -> int:
    known = {row[0] for row in db.query("SELECT id FROM v1_blocks")}
    return sum(1 for entry in os.scandir(db.v1_dir) if entry.name not in known and _remove(entry.path))


def _sweep_v2(db: Database) -> tuple[int, int]:
    sessions = {row[0] for row in db.query("SELECT id FROM v2_uploads")}
    parts: dict[str, set[str]] = {}
    for upload_id, name in db.query("SELECT upload_id, file FROM v2_parts"):
        parts.setdefault(upload_id, set()).add(name)
    removed_parts = removed_sessions = 0
    for folder in os.scandir(db.v2_dir):
        if folder.name not in sessions:
            if folder.is_dir():
                shutil.rmtree(folder.path, ignore_errors=True)
            else:
                _remove(folder.path)
            removed_sessions += 1
            continue
        if not folder.is_dir():
            continue
        named = parts.get(folder.name, set())
        for entry in os.scandir(folder.path):
            if entry.name != ASSEMBLY and entry.name not in named and _remove(entry.path):
                removed_parts += 1
    return removed_parts, removed_sessions


def sweep_leftovers(db: Database) -> Swept:
    """Remove every byte file no database row names (see the module docstring)."""
    parts, sessions = _sweep_v2(db)
    swept = Swept(blobs=_sweep_blobs(db), blocks=_sweep_blocks(db), parts=parts, sessions=sessions)
    if swept.total:
        log.warning("removed %d crash leftover(s) from %s: %s", swept.total, db.data_dir, swept)
    return swept
