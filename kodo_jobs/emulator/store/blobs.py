"""Object bytes: immutable blobs, as files under ``<data>/objects/`` or as ``inline_blobs`` rows.

A blob is named once and never rewritten: file blobs are ``xx/<uuid hex>`` (256 folders),
inline ones ``db:<uuid hex>``. An object's row names its blob (see :mod:`.objects`).

Small objects inline. An object given as bytes of at most :data:`INLINE_MAX` keeps them in the
``inline_blobs`` table, written in the same transaction as its row; copies copy the row, and
deletes and overwrites delete it in the transaction that changes the object's row. Why: a fresh
sync of small files is one upload per file, and creating, renaming and later unlinking one small
file per object was most of the emulator's kernel time per upload (``perf``: ext4 inode
allocation scanning recently deleted inodes, directory lock contention between request
threads); MinIO keeps small objects in its metadata for the same reason. Everything larger, and
every resumable upload, stays a file.

Crash safety: a file blob is renamed into place before any row names it, and unlinked only
after the change that stopped naming it is committed (``Database.after_commit``), so a crash
never exposes half an object nor loses one a committed row names (``sweep`` removes files no
row names).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import IO

from kodo_jobs.emulator.db import Database

INLINE_MAX = 64 * 1024
"""Objects stored from bytes of at most this size keep them in the database (see the module docstring)."""
INLINE_PREFIX = "db:"
"""Blob names of inline objects start with this (file blobs are ``xx/<uuid hex>``)."""


def is_inline(blob: str) -> bool:
    """Whether the blob is an ``inline_blobs`` row rather than a file."""
    return blob.startswith(INLINE_PREFIX)


class Blobs:
    """Places, reads, duplicates and retires blobs; thread-safe."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # The 256 blob folders are never removed: remembering which exist saves a mkdir per upload.
        self._dirs: set[str] = set()

    def path(self, blob: str) -> Path:
        """Absolute path of a file blob."""
        return self.db.objects_dir / blob

    def source(self, blob: str) -> Path | io.BytesIO:
        """What holds a blob's bytes: its file, or an in-memory copy of an inline blob
        (``FileNotFoundError`` when the inline row is gone, as for a missing file)."""
        if not is_inline(blob):
            return self.path(blob)
        row = self.db.one("SELECT data FROM inline_blobs WHERE name = ?", (blob,))
        if row is None:
            raise FileNotFoundError(f"inline blob {blob} is gone")
        return io.BytesIO(row[0])

    def stage(self, src: Path | IO[bytes] | bytes) -> tuple[str, bytes | None]:
        """Name the blob for new content: ``(name, data)`` where ``data`` is what
        :meth:`write_inline` must store in the object's transaction, or ``(name, None)`` when
        the bytes are already a file blob (``src`` a ``Path`` is renamed: it is consumed)."""
        if isinstance(src, bytes) and len(src) <= INLINE_MAX:
            return f"{INLINE_PREFIX}{uuid.uuid4().hex}", src
        return self._place(io.BytesIO(src) if isinstance(src, bytes) else src), None

    @staticmethod
    def write_inline(c: sqlite3.Connection, blob: str, data: bytes) -> None:
        """Store an inline blob's bytes in the caller's transaction."""
        c.execute("INSERT INTO inline_blobs (name, data) VALUES (?, ?)", (blob, data))

    def duplicate(self, c: sqlite3.Connection, blob: str) -> str:
        """A new blob with the same bytes (for a copy): an inline row copied in the caller's
        transaction, or a hard link (a copy where links are not allowed) under a new name, so
        that removing either object never touches the other's bytes."""
        if is_inline(blob):
            new = f"{INLINE_PREFIX}{uuid.uuid4().hex}"
            c.execute("INSERT INTO inline_blobs (name, data) SELECT ?, data FROM inline_blobs WHERE name = ?",
                      (new, blob))
            return new
        new = self._new_file_name()
        dest = self._ready(new)
        try:
            os.link(self.path(blob), dest)
        except OSError:
            shutil.copyfile(self.path(blob), dest)
        return new

    def drop(self, blob: str) -> None:
        """Remove a blob that no committed row names (an inline one never outlives its transaction)."""
        if is_inline(blob):
            return
        with contextlib.suppress(FileNotFoundError):
            self.path(blob).unlink()

    def retire(self, blobs: list[str]) -> None:
        """Drop the file blobs of rows just deleted or replaced, once that change is committed:
        one deferred action, plain string paths (a ``Path`` per file cost more than the unlink
        itself). Each blob name is one directory entry (copies are hard links under their own
        names), so unlinking it never touches another object's bytes. Inline blobs are skipped:
        :meth:`forget_inline` removed their rows in the transaction that removed the object's."""
        files = [blob for blob in blobs if not is_inline(blob)]
        if not files:
            return
        root = str(self.db.objects_dir)

        def drop() -> None:
            for blob in files:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{root}/{blob}")
        self.db.after_commit(drop)

    @staticmethod
    def forget_inline(c: sqlite3.Connection, blobs: list[str]) -> None:
        """Delete the rows of the inline blobs among ``blobs``, in the caller's transaction (so
        they go exactly when the object rows naming them do)."""
        rows = [(blob,) for blob in blobs if is_inline(blob)]
        if rows:
            c.executemany("DELETE FROM inline_blobs WHERE name = ?", rows)

    def _new_file_name(self) -> str:
        name = uuid.uuid4().hex
        return f"{name[:2]}/{name}"

    def _ready(self, blob: str) -> Path:
        """The path of a new file blob, its folder made if needed."""
        dest = self.path(blob)
        folder = dest.parent.name
        if folder not in self._dirs:
            dest.parent.mkdir(exist_ok=True)
            self._dirs.add(folder)
        return dest

    def _place(self, src: Path | IO[bytes]) -> str:
        blob = self._new_file_name()
        dest = self._ready(blob)
        if isinstance(src, Path):
            os.replace(src, dest)
        else:
            tmp = self.db.tmp_dir / f"copy-{uuid.uuid4().hex}"
            with open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, 1024 * 1024)
            os.replace(tmp, dest)
        return blob
