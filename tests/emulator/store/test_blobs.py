"""Small objects keep their bytes in the emulator's database (store/blobs.py INLINE_MAX), through the
whole object life cycle, checked with the official SDK as the client: no file is written for a
small form upload, downloads (whole, Range, HEAD) serve the same bytes, copy/move/overwrite/
delete/batch delete leave no row behind, and the bytes survive a restart. Larger objects stay
files."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

import qiniu
import requests
from qiniu.utils import etag_stream

from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.emulator.store.blobs import INLINE_MAX, INLINE_PREFIX
from tests.emulator.helpers import entry, mgmt
from tests.fixtures.emulator import sdk_for

B = "test-bucket"


def _inline_rows(emulator: RunningEmulator) -> int:
    row = emulator.store.db.one("SELECT COUNT(*) FROM inline_blobs")
    assert row is not None
    return int(row[0])


def _files(emulator: RunningEmulator) -> int:
    db = emulator.store.db
    return sum(1 for folder in (db.objects_dir, db.tmp_dir) for p in folder.rglob("*") if p.is_file())


def _put(emulator: RunningEmulator, key: str, data: bytes) -> dict[str, Any]:
    auth, _ = sdk_for(emulator)
    ret, info = qiniu.put_data(auth.upload_token(B, key), key, data)
    assert info.status_code == 200, info
    return dict(ret)


def _read(emulator: RunningEmulator, key: str) -> bytes:
    with emulator.store.open_object(B, key) as f:
        return bytes(f.read())


def test_small_form_upload_is_a_row_and_serves_like_a_file(emulator: RunningEmulator) -> None:
    data = bytes(range(256)) * 40  # 10 KiB
    ret = _put(emulator, "small.bin", data)
    assert ret["hash"] == etag_stream(io.BytesIO(data))
    assert emulator.store.stat(B, "small.bin").blob.startswith(INLINE_PREFIX)
    assert _inline_rows(emulator) == 1 and _files(emulator) == 0
    url = f"{emulator.url}/dl/{B}/small.bin"
    whole = requests.get(url, timeout=30)
    assert whole.status_code == 200 and whole.content == data and whole.headers["ETag"].strip('"') == ret["hash"]
    part = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=30)
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    head = requests.head(url, timeout=30)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(data)
    _, bm = sdk_for(emulator)
    assert bm.stat(B, "small.bin")[0]["fsize"] == len(data)


def test_limit_is_inclusive_and_bigger_objects_stay_files(emulator: RunningEmulator) -> None:
    _put(emulator, "edge", b"e" * INLINE_MAX)
    _put(emulator, "big", b"b" * (INLINE_MAX + 1))
    assert emulator.store.stat(B, "edge").blob.startswith(INLINE_PREFIX)
    assert not emulator.store.stat(B, "big").blob.startswith(INLINE_PREFIX)
    assert _inline_rows(emulator) == 1 and _files(emulator) == 1
    assert _read(emulator, "edge") == b"e" * INLINE_MAX and _read(emulator, "big") == b"b" * (INLINE_MAX + 1)


def test_copy_move_overwrite_and_delete_leave_no_rows(emulator: RunningEmulator) -> None:
    _, bm = sdk_for(emulator)
    _put(emulator, "a", b"first")
    assert bm.copy(B, "a", B, "a-copy")[1].status_code == 200
    assert _inline_rows(emulator) == 2  # a copy has its own bytes
    assert bm.move(B, "a-copy", B, "moved")[1].status_code == 200
    assert _inline_rows(emulator) == 2 and _read(emulator, "moved") == b"first"
    _put(emulator, "a", b"second")  # overwrite: the old row goes
    assert _inline_rows(emulator) == 2 and _read(emulator, "a") == b"second"
    assert bm.delete(B, "moved")[1].status_code == 200
    assert _inline_rows(emulator) == 1
    for i in range(5):
        _put(emulator, f"k{i}", f"v{i}".encode())
    ops = [f"/delete/{entry(B, f'k{i}')}" for i in range(5)] + [f"/delete/{entry(B, 'a')}"]
    resp = mgmt(emulator, "POST", "/batch", data=urlencode([("op", op) for op in ops]))
    assert resp.status_code == 200, resp.text
    assert _inline_rows(emulator) == 0 and _files(emulator) == 0 and emulator.store.count_objects() == 0


def test_refused_insert_only_upload_stores_nothing(emulator: RunningEmulator) -> None:
    auth, _ = sdk_for(emulator)
    _put(emulator, "once", b"original")
    token = auth.upload_token(B, "once", policy={"insertOnly": 1})
    _, info = qiniu.put_data(token, "once", b"different")
    assert info.status_code == 614
    assert _inline_rows(emulator) == 1 and _read(emulator, "once") == b"original"


def test_inline_bytes_survive_a_restart(emulator_factory: Any, tmp_path: Any) -> None:
    data_dir = tmp_path / "data"
    first: RunningEmulator = emulator_factory(data_dir=data_dir)
    ret = _put(first, "kept", b"persisted inline")
    first.stop()
    second: RunningEmulator = emulator_factory(data_dir=data_dir)
    assert second.store.stat(B, "kept").hash == ret["hash"]
    assert requests.get(f"{second.url}/dl/{B}/kept", timeout=30).content == b"persisted inline"
