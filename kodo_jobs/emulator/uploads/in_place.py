"""v2 parts written in place: one ``assembly`` file per session that can become the object.

A session's first part written in place fixes its *stride* (that part's size); a part no larger
than the stride, small enough to be read whole (``bodies.IN_MEMORY``) and not already stored or
being stored, is written at ``(number - 1) * stride`` of the session's ``assembly`` file (its
row's ``file`` is ``@<stride>``). When a complete names exactly parts 1..N of the session, all
in place, every part but the last of the stride's size, the assembly file (cut after the last
part) *is* the object: it is hard-linked, not copied, which saves a second pass over every
byte. While a complete uses the assembly file (the session is *sealed*), no part is written
into it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from kodo_jobs.emulator.db import Database

ASSEMBLY = "assembly"
"""The file of a v2 session that holds the parts written in place."""
PartRow = tuple[int, int, str, str]
"""One stored v2 part as complete needs it: (part number, size, etag, file), where ``file`` is
the part's own file name or ``@<stride>`` when it lives in the assembly file."""


def in_place(name: str) -> bool:
    """Whether a part row's ``file`` names the assembly file (``@<stride>``)."""
    return name.startswith("@")


class InPlace:
    """Who may write into which assembly file, and when one becomes an object; thread-safe."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._strides: dict[str, int] = {}
        """uploadId -> stride of its in-place parts (rebuilt from the rows after a restart)."""
        self._writing: set[tuple[str, int]] = set()
        """(uploadId, part number) being written in place right now."""
        self._sealed: set[str] = set()
        """Sessions whose assembly file a complete is using: no in-place writes meanwhile."""

    def claim(self, upload_id: str, part_number: int, size: int) -> int | None:
        """The stride to write this part in place with, or None (a file of its own). A claimed
        part must be given back with :meth:`done` once its row is recorded."""
        with self._lock:
            if upload_id in self._sealed or (upload_id, part_number) in self._writing:
                return None
            stride = self._strides.get(upload_id)
            rows: list[tuple[int, str]] | None = None
            if stride is None:
                rows = self.db.query("SELECT part_number, file FROM v2_parts WHERE upload_id = ?", (upload_id,))
                stride = next((int(f[1:]) for _, f in rows if in_place(f)), None)
                if stride is None:
                    stride = size  # the session's first part in place fixes the stride
                self._strides[upload_id] = stride
            if size > stride or size == 0:
                return None
            if rows is None:
                rows = self.db.query("SELECT part_number, file FROM v2_parts WHERE upload_id = ? AND part_number = ?",
                                     (upload_id, part_number))
            if any(n == part_number for n, _ in rows):
                return None  # a re-upload: never overwrite bytes a stored row describes
            self._writing.add((upload_id, part_number))
            return stride

    def write(self, upload_id: str, offset: int, data: bytes) -> None:
        """Write a claimed part's bytes at ``offset`` of the session's assembly file."""
        folder = self.db.v2_dir / upload_id
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ASSEMBLY, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.pwrite(fd, view, offset)
                view = view[written:]
                offset += written
        finally:
            os.close(fd)

    def done(self, upload_id: str, part_number: int) -> None:
        """A claimed part is recorded (or failed): it is no longer being written."""
        with self._lock:
            self._writing.discard((upload_id, part_number))

    def link(self, upload_id: str, chosen: list[PartRow], stored: int, dest: Path) -> bool:
        """Make ``dest`` the assembly file itself when it holds exactly the object (see the
        module docstring) and seal the session; False when the parts must be concatenated."""
        numbers = [r[0] for r in chosen]
        if stored != len(chosen) or numbers != list(range(1, len(chosen) + 1)):
            return False
        if not all(in_place(r[3]) for r in chosen):
            return False
        stride = int(chosen[0][3][1:])
        if any(int(r[3][1:]) != stride for r in chosen) or any(r[1] != stride for r in chosen[:-1]):
            return False
        total = stride * (len(chosen) - 1) + chosen[-1][1]
        assembly = self.db.v2_dir / upload_id / ASSEMBLY
        with self._lock:
            if self._writing & {(upload_id, n) for n in numbers}:
                return False
            self._sealed.add(upload_id)  # until forget / a refused complete: no writes into it
        try:
            os.truncate(assembly, total)
            os.link(assembly, dest)
        except OSError:
            self.release(upload_id)
            return False
        return True

    def release(self, upload_id: str) -> None:
        """A complete that used the assembly file did not store the object: parts may again be
        written into it."""
        with self._lock:
            self._sealed.discard(upload_id)

    def forget(self, upload_id: str) -> None:
        """The session is gone (completed or aborted)."""
        with self._lock:
            self._strides.pop(upload_id, None)
            self._sealed.discard(upload_id)
