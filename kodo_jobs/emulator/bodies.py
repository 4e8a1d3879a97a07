"""Request bodies to disk: streamed in 1 MiB chunks, hashed (qetag + md5 + crc32) on the way.

Large bodies never live in memory; the temp files sit in ``<data>/tmp`` and are renamed into
place by the store, so a crash never leaves half an object visible.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from kodo_jobs.emulator.errors import BadRequest
from kodo_jobs.emulator.etag import StreamDigest

CHUNK = 1024 * 1024  # what the hashing/writing side handles at a time
# What is asked of the request stream per read: one ``sockio.BUFSIZE`` on plain sockets, and
# the size cheroot's own buffered reader (still used on TLS) handles well; batched into
# CHUNK-sized pieces for the hashing/writing side. figures: docs/bench.md
READ = 64 * 1024
IN_MEMORY = 16 * 1024 * 1024
"""A body of known length up to this size (a usual part or block) is read whole, then hashed and
written in one go: each hash of the whole buffer releases the GIL once, where the pipeline's
queues and helper threads cost hundreds of GIL hand-offs per part when several parts arrive at
once (figures: docs/bench.md). Larger bodies stream."""


def temp_path(tmp_dir: Path, prefix: str = "body") -> Path:
    """A fresh temp file name in the data folder's tmp directory."""
    return tmp_dir / f"{prefix}-{uuid.uuid4().hex}"


def stream_to_file(stream: IO[bytes], dest: Path, expected: int | None, *, with_md5: bool = True,
                   with_crc: bool = True, limit: int | None = None) -> StreamDigest:
    """Copy ``stream`` into ``dest`` (created), hashing as it goes; ``BadRequest`` when the body
    is shorter than ``expected`` or longer than ``limit``. ``dest`` is removed on failure.

    A body of known length up to :data:`IN_MEMORY` is read whole first. Larger bodies are
    pipelined: this thread reads the socket while a helper thread hashes and writes the previous
    chunk (recv, sha1/md5 and write all release the GIL,
    so on two cores receiving no longer waits for hashing).
    """
    digest = StreamDigest(with_md5=with_md5, with_crc=with_crc)
    received = 0
    try:
        if fits_in_memory(expected, limit):
            assert expected is not None
            whole, digest = read_in_memory(stream, expected, with_md5=with_md5, with_crc=with_crc)
            with open(dest, "wb") as out:
                out.write(whole)
            return digest
        first = _read_batch(stream)
        received = len(first)
        _check_limit(received, limit)
        second = _read_batch(stream) if len(first) >= CHUNK else b""
        if not second:  # the whole body was one read: no helper thread
            with open(dest, "wb") as out:
                digest.update(first)
                out.write(first)
        else:
            received = _pipeline(stream, dest, digest, [first, second], limit)
        if expected is not None and received != expected:
            raise BadRequest(f"incomplete body: got {received} of {expected} bytes")
    except BaseException:
        remove_quietly(dest)
        raise
    return digest


def fits_in_memory(expected: int | None, limit: int | None) -> bool:
    """Whether a body of this announced length is read whole (see :data:`IN_MEMORY`)."""
    return expected is not None and expected <= IN_MEMORY and (limit is None or expected <= limit)


def read_in_memory(stream: IO[bytes], expected: int, *, with_md5: bool = True,
                   with_crc: bool = True) -> tuple[bytes, StreamDigest]:
    """The whole body (its length announced and :func:`fits_in_memory`) and its digests;
    ``BadRequest`` when it is shorter than announced."""
    whole = _read_known(stream, expected)
    if len(whole) != expected:
        raise BadRequest(f"incomplete body: got {len(whole)} of {expected} bytes")
    digest = StreamDigest(with_md5=with_md5, with_crc=with_crc)
    digest.update(whole)
    return whole, digest


def _read_known(stream: IO[bytes], size: int) -> bytes:
    """Up to ``size`` bytes, gathered with READ-sized reads (shorter only if the body is)."""
    pieces: list[bytes] = []
    got = 0
    while got < size:
        piece = stream.read(min(READ, size - got))
        if not piece:
            break
        pieces.append(piece)
        got += len(piece)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _read_batch(stream: IO[bytes]) -> bytes:
    """Up to CHUNK bytes, gathered with READ-sized reads (shorter only at the end of the body)."""
    pieces: list[bytes] = []
    size = 0
    while size < CHUNK:
        piece = stream.read(READ)
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _check_limit(received: int, limit: int | None) -> None:
    if limit is not None and received > limit:
        raise BadRequest("request body too large")


def _pipeline(stream: IO[bytes], dest: Path, digest: StreamDigest, head: list[bytes], limit: int | None) -> int:
    # Two helpers: one computes md5 (the slowest hash), the other sha1 blocks + crc32 and
    # writes the file; this thread only reads. hashlib, zlib, recv and write release the GIL.
    md5 = digest.detach_md5()
    queues: list[queue.Queue[bytes | None]] = [queue.Queue(maxsize=4) for _ in range(2 if md5 else 1)]
    failure: list[BaseException] = []

    def run(q: queue.Queue[bytes | None], work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as exc:  # reported to the reading thread
            failure.append(exc)
            while q.get() is not None:  # keep draining so the reader never blocks
                pass

    def write_and_hash() -> None:
        with open(dest, "wb") as out:
            while (chunk := queues[0].get()) is not None:
                digest.update(chunk)
                out.write(chunk)

    def hash_md5() -> None:
        assert md5 is not None
        while (chunk := queues[1].get()) is not None:
            md5.update(chunk)

    workers = [threading.Thread(target=run, args=(queues[0], write_and_hash), name="kodo-emulator-body",
                                daemon=True)]
    if md5 is not None:
        workers.append(threading.Thread(target=run, args=(queues[1], hash_md5), name="kodo-emulator-md5",
                                        daemon=True))
    for w in workers:
        w.start()
    received = 0
    try:
        for chunk in head:
            received += len(chunk)
            _check_limit(received, limit)
            for q in queues:
                q.put(chunk)
        while not failure:
            chunk = _read_batch(stream)
            if not chunk:
                break
            received += len(chunk)
            _check_limit(received, limit)
            for q in queues:
                q.put(chunk)
    finally:
        for q in queues:
            q.put(None)
        for w in workers:
            w.join()
        digest.attach_md5(md5)
    if failure:
        raise failure[0]
    return received


def remove_quietly(path: Path) -> None:
    """Delete a file if it is there."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class HashingFile:
    """A write-then-read temp file that hashes what is written (werkzeug's multipart parser
    writes the ``file`` part into it: the upload is hashed while it spools to disk)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self.digest = StreamDigest()
        self._file: IO[bytes] = open(path, "w+b")  # noqa: SIM115 - closed by close()

    def write(self, data: bytes | memoryview) -> int:
        self.digest.update(data)
        return self._file.write(data)

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def flush(self) -> None:
        self._file.flush()

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        self._file.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)
