"""Request bodies to disk: streamed in 1 MiB chunks, hashed (qetag + md5 + crc32) on the way.

Large bodies never live in memory; the temp files sit in ``<data>/tmp`` and are renamed into
place by the store, so a crash never leaves half an object visible.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import IO, Any

from kodo_jobs.emulator.errors import BadRequest
from kodo_jobs.emulator.etag import StreamDigest

CHUNK = 1024 * 1024


def temp_path(tmp_dir: Path, prefix: str = "body") -> Path:
    """A fresh temp file name in the data folder's tmp directory."""
    return tmp_dir / f"{prefix}-{uuid.uuid4().hex}"


def stream_to_file(stream: IO[bytes], dest: Path, expected: int | None, *, with_md5: bool = True,
                   limit: int | None = None) -> StreamDigest:
    """Copy ``stream`` into ``dest`` (created), hashing as it goes; ``BadRequest`` when the body
    is shorter than ``expected`` or longer than ``limit``. ``dest`` is removed on failure."""
    digest = StreamDigest(with_md5=with_md5)
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    try:
        with open(dest, "wb") as out:
            while True:
                n = stream.readinto(view) if hasattr(stream, "readinto") else _read_into(stream, view)
                if not n:
                    break
                chunk = view[:n]
                digest.update(chunk)
                out.write(chunk)
                if limit is not None and digest.size > limit:
                    raise BadRequest("request body too large")
        if expected is not None and digest.size != expected:
            raise BadRequest(f"incomplete body: got {digest.size} of {expected} bytes")
    except BaseException:
        remove_quietly(dest)
        raise
    return digest


def _read_into(stream: IO[bytes], view: memoryview) -> int:
    data = stream.read(len(view))
    view[: len(data)] = data
    return len(data)


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
