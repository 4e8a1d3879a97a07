"""v2 parts written in place (emulator/uploads/in_place.py): the assembly file becomes the object without
a copy when a complete names parts 1..N of the stride; every other case (out-of-stride sizes,
re-uploads, subsets, refused completes, restarts) still yields exactly the uploaded bytes."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.errors import BadRequest
from kodo_jobs.emulator.uploads import Uploads
from kodo_jobs.emulator.uploads.in_place import ASSEMBLY
from kodo_jobs.emulator.uploads.sessions import Sessions
from kodo_jobs.kodo.etag import etag_bytes

MIB = 1024 * 1024


class Clock:
    def __call__(self) -> float:
        return 1_700_000_000.0


def _uploads(root: Path) -> Sessions:
    return Uploads(Database(root), clock=Clock()).v2


def _put(u: Sessions, upload_id: str, number: int, data: bytes, md5: str | None = None) -> str:
    return u.put_part(upload_id, "b", "o", number, io.BytesIO(data), len(data), md5).etag


def _parts(count: int, size: int = MIB, last: int = 300_000) -> list[bytes]:
    return [os.urandom(size) for _ in range(count - 1)] + [os.urandom(last)]


def _complete(u: Sessions, upload_id: str, numbers_etags: list[tuple[int, str]]) -> tuple[bytes, Path]:
    done = u.assemble(upload_id, "b", "o", [{"partNumber": n, "etag": e} for n, e in numbers_etags])
    return done.path.read_bytes(), done.path


def test_uniform_parts_in_any_order_become_the_object_without_a_copy(tmp_path: Path) -> None:
    u = _uploads(tmp_path)
    upload_id, _ = u.initiate("b", "o")
    parts = _parts(4)
    etags = {n: _put(u, upload_id, n, parts[n - 1]) for n in (2, 1, 4, 3)}
    body, path = _complete(u, upload_id, sorted(etags.items()))
    assert body == b"".join(parts)
    found = list(tmp_path.rglob(ASSEMBLY))
    assert len(found) == 1
    assert os.stat(found[0]).st_ino == os.stat(path).st_ino  # a hard link: no second copy of the bytes
    assert not [p for p in found[0].parent.iterdir() if p.name != ASSEMBLY]  # no part files
    u.finish(upload_id)
    assert path.read_bytes() == b"".join(parts)  # the object keeps its bytes after the session is gone


def test_last_part_first_fixes_a_small_stride_and_the_rest_is_concatenated(tmp_path: Path) -> None:
    u = _uploads(tmp_path)
    upload_id, _ = u.initiate("b", "o")
    parts = _parts(3)
    etags = {3: _put(u, upload_id, 3, parts[2])}
    etags |= {n: _put(u, upload_id, n, parts[n - 1]) for n in (1, 2)}
    body, path = _complete(u, upload_id, sorted(etags.items()))
    assert body == b"".join(parts)
    assert os.stat(path).st_nlink == 1  # concatenated


def test_reupload_subset_and_refused_complete_keep_exact_bytes(tmp_path: Path) -> None:
    u = _uploads(tmp_path)
    upload_id, _ = u.initiate("b", "o")
    parts = _parts(3)
    etags = {n: _put(u, upload_id, n, parts[n - 1]) for n in (1, 2, 3)}
    replacement = os.urandom(MIB)
    etags[2] = _put(u, upload_id, 2, replacement)  # a re-upload goes to a file of its own
    body, path = _complete(u, upload_id, [(1, etags[1]), (2, etags[2])])  # a subset
    assert body == parts[0] + replacement
    path.unlink()
    u.release(upload_id)  # as the handler does when the store refuses the object
    body, path = _complete(u, upload_id, sorted(etags.items()))
    assert body == parts[0] + replacement + parts[2]


def test_restart_recovers_the_stride_and_completes_in_place(tmp_path: Path) -> None:
    first = _uploads(tmp_path)
    upload_id, _ = first.initiate("b", "o")
    parts = _parts(3)
    etags = {1: _put(first, upload_id, 1, parts[0])}
    second = _uploads(tmp_path)  # the emulator restarted
    etags |= {n: _put(second, upload_id, n, parts[n - 1]) for n in (2, 3)}
    body, path = _complete(second, upload_id, sorted(etags.items()))
    assert body == b"".join(parts)
    assert os.stat(path).st_nlink == 2  # still the assembly file itself


def test_wrong_md5_in_memory_stores_nothing(tmp_path: Path) -> None:
    u = _uploads(tmp_path)
    upload_id, _ = u.initiate("b", "o")
    data = os.urandom(MIB)
    with pytest.raises(BadRequest):
        _put(u, upload_id, 1, data, md5=hashlib.md5(b"other").hexdigest())
    assert u.list_parts(upload_id, "b", "o")[0] == []
    etag = _put(u, upload_id, 1, data, md5=hashlib.md5(data).hexdigest())
    assert etag == etag_bytes(data)
