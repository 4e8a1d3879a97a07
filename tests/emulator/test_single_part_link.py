"""A v2 upload of one part and a v1 mkfile of one block become the object without a copy (a
hard link): content, hash and the removal of the session files must be as with a copy."""

from __future__ import annotations

import hashlib
from pathlib import Path

import qiniu

from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator.helpers import upload_threshold
from tests.fixtures.emulator import sdk_for

MiB = 1024 * 1024


def _file(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    block = hashlib.sha256(name.encode()).digest() * 32
    path.write_bytes((block * (size // len(block) + 1))[:size])
    return path


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_single_part_v2_and_single_block_v1(emulator: RunningEmulator, tmp_path: Path) -> None:
    auth, bm = sdk_for(emulator)
    db = emulator.store.db
    v2 = _file(tmp_path, "one-part.bin", MiB + 7)
    v1 = _file(tmp_path, "one-block.bin", 3 * MiB + 1)
    with upload_threshold(1024):
        ret, info = qiniu.put_file_v2(auth.upload_token("test-bucket", "p"), "p", str(v2), part_size=4 * MiB)
        assert info.status_code == 200, info
        ret1, info1 = qiniu.put_file(auth.upload_token("test-bucket", "b"), "b", str(v1))
        assert info1.status_code == 200, info1
    assert emulator.stats()["requests"]["up.upload_part"] == 1
    assert emulator.stats()["requests"]["up.mkblk"] == 1
    for key, path, answer in (("p", v2, ret), ("b", v1, ret1)):
        assert answer["hash"] == qiniu.etag(str(path))
        assert bm.stat("test-bucket", key)[0]["fsize"] == path.stat().st_size
        with emulator.store.open_object("test-bucket", key) as f:
            assert f.read() == path.read_bytes()
        assert emulator.store.get_object_path("test-bucket", key).stat().st_nlink == 1  # session copy gone
    assert _files_under(db.v2_dir) == [] and _files_under(db.v1_dir) == [] and _files_under(db.tmp_dir) == []
