"""Qiniu's qetag (the ``hash`` of an object), streaming and allocation-free on large files.

v1 (kodo-protocol.md §3): 4 MiB blocks; one block -> ``0x16 || sha1(block)``; several ->
``0x96 || sha1(sha1(b1) || sha1(b2) ...)``; urlsafe base64. v2 (uploads whose parts are not
all 4 MiB): ``0x9e || sha1(part_bin[1:] ...)`` over each part's own v1 value.

Performance (shared/PERF-LIMITS.md §2): small files are read once with their exact size (a
4 MiB read of a small file costs an mmap round trip); large files are read with ``readinto``
into one reused, page-aligned 4 MiB buffer, so hashing runs at about the speed of raw SHA-1.
"""

from __future__ import annotations

import base64
import hashlib
import io
import mmap
import os
from collections.abc import Sequence

BLOCK_SIZE = 4 * 1024 * 1024


def _encode(binary: bytes) -> str:
    return base64.urlsafe_b64encode(binary).decode("ascii")


class EtagHasher:
    """Incremental qetag: ``update()`` with any chunk sizes, then ``hexdigest``-like ``etag()``."""

    __slots__ = ("_block", "_block_fill", "_digests", "_size")

    def __init__(self) -> None:
        self._block = hashlib.sha1()
        self._block_fill = 0
        self._digests: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        """Bytes hashed so far."""
        return self._size

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed the next bytes of the content."""
        view = memoryview(data).cast("B")
        self._size += len(view)
        while len(view):
            room = BLOCK_SIZE - self._block_fill
            take = view[:room]
            self._block.update(take)
            self._block_fill += len(take)
            view = view[len(take):]
            if self._block_fill == BLOCK_SIZE:
                self._digests.append(self._block.digest())
                self._block = hashlib.sha1()
                self._block_fill = 0

    def _binary(self) -> bytes:
        digests = list(self._digests)
        if self._block_fill or not digests:
            digests.append(self._block.digest())
        if len(digests) == 1:
            return b"\x16" + digests[0]
        return b"\x96" + hashlib.sha1(b"".join(digests)).digest()

    def etag(self) -> str:
        """The qetag of everything fed so far (the hasher stays usable)."""
        return _encode(self._binary())


def etag_bytes(data: bytes | bytearray | memoryview) -> str:
    """qetag of an in-memory content."""
    view = memoryview(data).cast("B")
    if len(view) <= BLOCK_SIZE:
        return _encode(b"\x16" + hashlib.sha1(view).digest())
    digests = [hashlib.sha1(view[i:i + BLOCK_SIZE]).digest() for i in range(0, len(view), BLOCK_SIZE)]
    return _encode(b"\x96" + hashlib.sha1(b"".join(digests)).digest())


def _read_exact(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def etag_file(path: str | os.PathLike[str]) -> str:
    """qetag of a file, streaming (constant memory: one 4 MiB buffer for large files)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size <= BLOCK_SIZE:
            data = _read_exact(fd, size)
            # a file that grew since fstat is hashed as read; the caller's fingerprint catches it
            return etag_bytes(data)
        with os.fdopen(os.dup(fd), "rb", buffering=0) as f:
            return _etag_stream(f)
    finally:
        os.close(fd)


def _etag_stream(f: io.FileIO) -> str:
    # The block buffer is an anonymous mmap, not a bytearray: page-aligned memory makes the
    # kernel's copy into it and SHA-1's pass over it faster (a bytearray's data sits 16 bytes
    # past a page boundary). figures: docs/bench.md
    buf = mmap.mmap(-1, BLOCK_SIZE)
    try:
        with memoryview(buf) as view:
            return _etag_blocks(f, view)
    finally:
        buf.close()


def _etag_blocks(f: io.FileIO, view: memoryview) -> str:
    digests: list[bytes] = []
    readinto = f.readinto
    while True:
        filled = 0
        while filled < BLOCK_SIZE:
            with view[filled:] as rest:
                n = readinto(rest)
            if not n:
                break
            filled += n
        if filled:
            with view[:filled] as block:
                digests.append(hashlib.sha1(block).digest())
        if filled < BLOCK_SIZE:
            break
    if not digests:
        digests.append(hashlib.sha1(b"").digest())
    if len(digests) == 1:
        return _encode(b"\x16" + digests[0])
    return _encode(b"\x96" + hashlib.sha1(b"".join(digests)).digest())


def _decode(etag: str) -> bytes:
    raw = base64.urlsafe_b64decode(etag + "=" * (-len(etag) % 4))
    if len(raw) != 21:
        raise ValueError(f"not a qetag: {etag!r}")
    return raw


def etag_v2(part_etags: Sequence[str], part_sizes: Sequence[int]) -> str:
    """The object hash of a v2 multipart upload, from each part's own v1 qetag and size.

    When every part but the last is exactly 4 MiB (and the last is at most 4 MiB), this is
    the v1 qetag of the whole content; otherwise ``0x9e || sha1(part_bin[1:] ...)``.
    """
    if len(part_etags) != len(part_sizes) or not part_etags:
        raise ValueError("need one size per part etag, and at least one part")
    if all(s == BLOCK_SIZE for s in part_sizes[:-1]) and part_sizes[-1] <= BLOCK_SIZE:
        if len(part_etags) == 1:
            return part_etags[0]
        return _encode(b"\x96" + hashlib.sha1(b"".join(_decode(e)[1:] for e in part_etags)).digest())
    return _encode(b"\x9e" + hashlib.sha1(b"".join(_decode(e)[1:] for e in part_etags)).digest())


def etag_file_v2(path: str | os.PathLike[str], part_size: int) -> str:
    """The hash Kodo gives ``path`` uploaded by v2 with ``part_size`` parts."""
    if part_size <= 0:
        raise ValueError("part size must be positive")
    size = os.stat(path).st_size
    sizes = [min(part_size, size - off) for off in range(0, size, part_size)] or [0]
    return etag_file_parts(path, sizes)


def etag_file_parts(path: str | os.PathLike[str], part_sizes: Sequence[int]) -> str:
    """The hash Kodo gives ``path`` uploaded by v2 in parts of exactly ``part_sizes`` (as a
    ``stat`` with ``needparts=true`` lists them); raises ValueError when they do not add up."""
    if not part_sizes or any(s < 0 for s in part_sizes):
        raise ValueError("need at least one part, none negative")
    fd = os.open(path, os.O_RDONLY)
    try:
        if sum(part_sizes) != os.fstat(fd).st_size:
            raise ValueError("the part sizes do not add up to the file's size")
        etags: list[str] = []
        offset = 0
        for n in part_sizes:
            hasher = EtagHasher()
            done = 0
            while done < n:
                chunk = os.pread(fd, min(BLOCK_SIZE, n - done), offset + done)
                if not chunk:
                    raise OSError(f"{os.fspath(path)!r} shrank while hashing")
                hasher.update(chunk)
                done += len(chunk)
            etags.append(hasher.etag())
            offset += n
        return etag_v2(etags, list(part_sizes))
    finally:
        os.close(fd)
