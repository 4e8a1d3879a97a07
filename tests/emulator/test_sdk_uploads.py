"""Uploads through the official SDK (the judge): form, resumable v1 and v2, hashes = qiniu.etag."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zlib
from pathlib import Path

import pytest
import qiniu

from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator.helpers import upload_threshold
from tests.fixtures.emulator import sdk_for

MiB = 1024 * 1024


def _file(tmp_path: Path, name: str, size: int, seed: int = 1) -> Path:
    path = tmp_path / name
    block = hashlib.sha256(str(seed).encode()).digest() * 32  # 1 KiB of deterministic bytes
    path.write_bytes((block * (size // len(block) + 1))[:size])
    return path


def test_put_data_form_upload_stores_object_with_metadata(emulator: RunningEmulator) -> None:
    auth, bm = sdk_for(emulator)
    token = auth.upload_token("test-bucket", "k1")
    ret, info = qiniu.put_data(token, "k1", b"hello", params={"x:foo": "bar"},
                               metadata={"x-qn-meta-color": "blue"}, mime_type="text/x-test")
    assert info.status_code == 200, info
    assert ret == {"hash": qiniu.utils.etag_stream(io.BytesIO(b"hello")), "key": "k1"}
    assert ret["hash"] == "Fqr0xh3cxeii2r7eDztILNmuqUNN"
    stat, info = bm.stat("test-bucket", "k1")
    assert info.status_code == 200
    assert stat["fsize"] == 5
    assert stat["mimeType"] == "text/x-test"
    assert stat["md5"] == hashlib.md5(b"hello").hexdigest()
    assert stat["x-qn-meta"] == {"color": "blue"}
    with emulator.store.open_object("test-bucket", "k1") as f:
        assert f.read() == b"hello"


def test_put_data_without_key_names_object_by_hash(emulator: RunningEmulator) -> None:
    auth, _ = sdk_for(emulator)
    ret, info = qiniu.put_data(auth.upload_token("test-bucket"), None, b"hello2")
    assert info.status_code == 200
    assert ret["key"] == ret["hash"] == qiniu.utils.etag_stream(io.BytesIO(b"hello2"))


def test_return_body_renders_magic_and_custom_variables(emulator: RunningEmulator) -> None:
    auth, _ = sdk_for(emulator)
    policy = {"returnBody": '{"key":"$(key)","size":$(fsize),"foo":"$(x:foo)","b":"$(bucket)","none":$(x:absent)}'}
    token = auth.upload_token("test-bucket", "rb.txt", 3600, policy)
    ret, info = qiniu.put_data(token, "rb.txt", b"abc", params={"x:foo": 'say "hi"'})
    assert info.status_code == 200, info
    assert ret == {"key": "rb.txt", "size": 3, "foo": 'say "hi"', "b": "test-bucket", "none": None}


def test_save_key_with_force(emulator: RunningEmulator) -> None:
    auth, bm = sdk_for(emulator)
    token = auth.upload_token("test-bucket", None, 3600, {"saveKey": "up/$(etag)$(ext)", "forceSaveKey": True})
    ret, info = qiniu.put_data(token, "ignored", b"data", fname="a.txt")
    assert info.status_code == 200, info
    assert ret["key"] == f"up/{ret['hash']}.txt"
    assert bm.stat("test-bucket", "ignored")[1].status_code == 612


@pytest.mark.filterwarnings("ignore:DEPRECATED:DeprecationWarning")
def test_put_file_small_is_form_upload(emulator: RunningEmulator, tmp_path: Path) -> None:
    auth, bm = sdk_for(emulator)
    path = _file(tmp_path, "small.txt", 1000)
    emulator.reset_stats()
    ret, info = qiniu.put_file(auth.upload_token("test-bucket", "small"), "small", str(path))
    assert info.status_code == 200
    assert ret["hash"] == qiniu.etag(str(path))
    requests_seen = emulator.stats()["requests"]
    assert requests_seen.get("up.form_upload") == 1
    assert "up.mkblk" not in requests_seen


@pytest.mark.filterwarnings("ignore:DEPRECATED:DeprecationWarning")
def test_put_file_v1_resumable_multi_block(emulator: RunningEmulator, tmp_path: Path) -> None:
    auth, bm = sdk_for(emulator)
    path = _file(tmp_path, "big.bin", 4 * MiB + 100)
    emulator.reset_stats()
    with upload_threshold(1024):
        ret, info = qiniu.put_file(auth.upload_token("test-bucket", "big1"), "big1", str(path),
                                   params={"x:foo": "bar"}, metadata={"x-qn-meta-a": "b"},
                                   mime_type="application/x-test")
    assert info.status_code == 200, info
    assert ret["hash"] == qiniu.etag(str(path))
    requests_seen = emulator.stats()["requests"]
    assert requests_seen["up.mkblk"] == 2
    assert requests_seen["up.mkfile"] == 1
    stat, _ = bm.stat("test-bucket", "big1")
    assert stat["fsize"] == 4 * MiB + 100
    assert stat["mimeType"] == "application/x-test"
    assert stat["x-qn-meta"] == {"a": "b"}
    assert emulator.uploads.count_sessions()["v1_blocks"] == 0
    with emulator.store.open_object("test-bucket", "big1") as f:
        assert f.read() == path.read_bytes()


def test_put_file_v2_with_4mib_parts_hash_equals_etag(emulator: RunningEmulator, tmp_path: Path) -> None:
    auth, bm = sdk_for(emulator)
    path = _file(tmp_path, "v2.bin", 4 * MiB + 5, seed=2)
    emulator.reset_stats()
    with upload_threshold(1024):
        ret, info = qiniu.put_file_v2(auth.upload_token("test-bucket", "v2"), "v2", str(path),
                                      part_size=4 * MiB, params={"x:foo": "bar"})
    assert info.status_code == 200, info
    assert ret["hash"] == qiniu.etag(str(path))
    assert emulator.stats()["requests"]["up.upload_part"] == 2
    assert emulator.uploads.count_sessions()["v2_uploads"] == 0
    assert bm.stat("test-bucket", "v2")[0]["hash"] == ret["hash"]


def _v1_bin(data: bytes) -> bytes:
    blocks = [data[i:i + 4 * MiB] for i in range(0, len(data), 4 * MiB)] or [b""]
    sha1s = [hashlib.sha1(b).digest() for b in blocks]
    if len(sha1s) == 1:
        return b"\x16" + sha1s[0]
    return b"\x96" + hashlib.sha1(b"".join(sha1s)).digest()


def test_put_file_v2_with_1mib_parts_uses_v2_hash(emulator: RunningEmulator, tmp_path: Path) -> None:
    import base64

    auth, bm = sdk_for(emulator)
    path = _file(tmp_path, "mid.bin", 2 * MiB + 5, seed=3)
    data = path.read_bytes()
    with upload_threshold(1024):
        ret, info = qiniu.put_file_v2(auth.upload_token("test-bucket", "mid"), "mid", str(path), part_size=MiB)
    assert info.status_code == 200, info
    parts = [data[:MiB], data[MiB:2 * MiB], data[2 * MiB:]]
    expected = base64.urlsafe_b64encode(
        b"\x9e" + hashlib.sha1(b"".join(_v1_bin(p)[1:] for p in parts)).digest()).decode()
    assert ret["hash"] == expected
    assert ret["hash"].startswith("n")
    stat, _ = bm.stat("test-bucket", "mid")
    assert stat["fsize"] == len(data)


def test_put_stream_v2_without_key(emulator: RunningEmulator) -> None:
    auth, _ = sdk_for(emulator)
    data = os.urandom(3000)
    ret, info = qiniu.put_stream_v2(auth.upload_token("test-bucket"), None, io.BytesIO(data), "s.bin", len(data))
    assert info.status_code == 200, info
    assert ret["key"] == ret["hash"] == qiniu.utils.etag_stream(io.BytesIO(data))


def test_form_crc32_is_checked(emulator: RunningEmulator) -> None:
    import requests

    auth, _ = sdk_for(emulator)
    token = auth.upload_token("test-bucket", "crc")
    bad = str((zlib.crc32(b"abc") + 1) & 0xFFFFFFFF)
    resp = requests.post(emulator.url + "/", files={"token": (None, token), "key": (None, "crc"),
                                                  "crc32": (None, bad), "file": ("f", b"abc")}, timeout=30)
    assert resp.status_code == 406
    assert "error" in json.loads(resp.text)
    assert emulator.store.count_objects() == 0


def test_sdk_resumes_v2_upload_with_same_upload_id(emulator: RunningEmulator, tmp_path: Path) -> None:
    from kodo_jobs.emulator.errors import ServerError

    auth, _ = sdk_for(emulator)
    path = _file(tmp_path, "resume.bin", 3 * MiB + 10, seed=4)
    real_put_part = emulator.uploads.v2.put_part
    calls: list[tuple[str, int]] = []
    failed: list[int] = []

    def flaky(upload_id: str, bucket: str, obj: str, number: int, *args: object, **kwargs: object) -> object:
        calls.append((upload_id, number))
        if number == 2 and not failed:
            failed.append(number)
            raise ServerError("injected for this test")
        return real_put_part(upload_id, bucket, obj, number, *args, **kwargs)  # type: ignore[arg-type]

    emulator.uploads.v2.put_part = flaky  # type: ignore[method-assign]
    (tmp_path / "records").mkdir()
    recorder = qiniu.UploadProgressRecorder(str(tmp_path / "records"))
    token = auth.upload_token("test-bucket", "resumed")
    with upload_threshold(1024):
        ret, info = qiniu.put_file_v2(token, "resumed", str(path), part_size=MiB, upload_progress_recorder=recorder)
        assert info.status_code == 599 and ret is None
        assert emulator.uploads.count_sessions()["v2_uploads"] == 1  # kept for the resume
        first_id = calls[0][0]
        calls.clear()
        ret, info = qiniu.put_file_v2(token, "resumed", str(path), part_size=MiB, upload_progress_recorder=recorder)
    assert info.status_code == 200, info
    assert calls == [(first_id, 2)]  # only the missing part, on the same uploadId
    with emulator.store.open_object("test-bucket", "resumed") as f:
        assert f.read() == path.read_bytes()
    assert emulator.uploads.count_sessions()["v2_uploads"] == 0


def test_return_url_redirects_with_upload_ret(emulator: RunningEmulator) -> None:
    import base64

    import requests

    auth, _ = sdk_for(emulator)
    token = auth.upload_token("test-bucket", "ru", 3600, {"returnUrl": "http://127.0.0.1:9/done",
                                                         "returnBody": '{"k":"$(key)"}'})
    resp = requests.post(emulator.url + "/", files={"token": (None, token), "key": (None, "ru"),
                                                  "file": ("f.txt", b"x")}, allow_redirects=False, timeout=30)
    assert resp.status_code == 303
    location = resp.headers["Location"]
    assert location.startswith("http://127.0.0.1:9/done?upload_ret=")
    assert json.loads(base64.urlsafe_b64decode(location.split("=", 1)[1])) == {"k": "ru"}
    assert emulator.store.exists("test-bucket", "ru")


def test_policy_file_type_end_user_and_expiry_are_stored(emulator: RunningEmulator) -> None:
    auth, bm = sdk_for(emulator)
    token = auth.upload_token("test-bucket", "cls", 3600, {"fileType": 1, "endUser": "u-42", "deleteAfterDays": 3})
    ret, info = qiniu.put_data(token, "cls", b"x")
    assert info.status_code == 200, info
    stat = bm.stat("test-bucket", "cls")[0]
    assert stat["type"] == 1 and stat["endUser"] == "u-42"
    assert 2 * 86400 < stat["expiration"] - stat["putTime"] / 1e7 <= 4 * 86400
