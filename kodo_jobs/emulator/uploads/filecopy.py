"""Byte plumbing for completing uploads: link or copy a whole file, append a file or a range.

In-kernel (``os.link``, ``os.copy_file_range``) where the OS allows it, buffered otherwise:
completing an upload should not read every byte through Python a second time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import IO


def link_or_copy(src: Path, dest: Path) -> None:
    """``dest`` becomes ``src``'s bytes: a hard link (parts are never rewritten in place, and
    the session folder is removed after complete), or a copy where links are not allowed."""
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def append_file(src: IO[bytes], out: IO[bytes]) -> None:
    """Append ``src`` to ``out``: in-kernel where the OS allows it, buffered otherwise."""
    out.flush()
    base = out.seek(0, os.SEEK_END)
    try:
        size = os.fstat(src.fileno()).st_size
        done = 0
        while done < size:
            n = os.copy_file_range(src.fileno(), out.fileno(), size - done, 0 + done, base + done)
            if n == 0:
                break
            done += n
        if done == size:
            out.seek(base + size)
            return
    except (AttributeError, OSError):
        pass
    out.seek(base)
    out.truncate()
    src.seek(0)
    shutil.copyfileobj(src, out, 1024 * 1024)


def append_range(src: IO[bytes], out: IO[bytes], offset: int, size: int) -> None:
    """Append ``size`` bytes of ``src`` from ``offset`` to ``out`` (in-kernel where possible)."""
    out.flush()
    base = out.seek(0, os.SEEK_END)
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(src.fileno(), out.fileno(), size - done, offset + done, base + done)
            if n == 0:
                break
            done += n
    except (AttributeError, OSError):
        done = 0
    if done != size:
        out.seek(base)
        out.truncate()
        out.write(os.pread(src.fileno(), size, offset))
    out.seek(base + size)


def sha1_file(path: Path) -> bytes:
    """The SHA-1 digest of a file's bytes (a v1 block whose digest was not kept)."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.digest()
