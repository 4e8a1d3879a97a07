"""rs commands and batches through the official SDK."""

from __future__ import annotations

import json
import time

import qiniu
import requests

from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator.helpers import mgmt, sdk_config_restored
from tests.fixtures.emulator import sdk_for

B = "test-bucket"


def _put(emulator: RunningEmulator, key: str, data: bytes, bucket: str = B) -> str:
    auth, _ = sdk_for(emulator)
    ret, info = qiniu.put_data(auth.upload_token(bucket, key), key, data)
    assert info.status_code == 200, info
    return str(ret["hash"])


def test_stat_missing_key_and_bucket(emulator: RunningEmulator) -> None:
    _, bm = sdk_for(emulator)
    ret, info = bm.stat(B, "nope")
    assert ret is None
    assert info.status_code == 612
    assert info.req_id
    assert json.loads(info.text_body) == {"error": "no such file or directory"}
    ret, info = bm.stat("no-such-bucket", "k")
    assert info.status_code == 631


def test_move_copy_rename_delete(emulator: RunningEmulator) -> None:
    _, bm = sdk_for(emulator)
    h = _put(emulator, "a", b"aaa")
    _put(emulator, "b", b"bbb")
    ret, info = bm.copy(B, "a", B, "c")
    assert info.status_code == 200 and ret == {}
    assert bm.stat(B, "c")[0]["hash"] == h
    assert bm.copy(B, "a", B, "b")[1].status_code == 614  # exists, no force
    assert bm.copy(B, "a", B, "b", force="true")[1].status_code == 200
    assert bm.stat(B, "b")[0]["hash"] == h
    assert bm.move(B, "c", "other-bucket", "moved")[1].status_code == 200
    assert bm.stat(B, "c")[1].status_code == 612
    assert bm.stat("other-bucket", "moved")[0]["hash"] == h
    assert bm.rename(B, "b", "renamed")[1].status_code == 200
    assert bm.stat(B, "renamed")[0]["hash"] == h
    assert bm.move(B, "gone", B, "x")[1].status_code == 612
    assert bm.delete(B, "renamed")[1].status_code == 200
    assert bm.delete(B, "renamed")[1].status_code == 612
    # the copy survives the deletion of its source (independent blob)
    assert bm.delete(B, "a")[1].status_code == 200
    with emulator.store.open_object("other-bucket", "moved") as f:
        assert f.read() == b"aaa"


def test_change_mime_type_status_expiry_lifecycle(emulator: RunningEmulator) -> None:
    _, bm = sdk_for(emulator)
    _put(emulator, "k", b"data")
    assert bm.change_mime(B, "k", "text/plain")[1].status_code == 200
    assert bm.change_type(B, "k", 1)[1].status_code == 200
    assert bm.change_status(B, "k", 1, None)[1].status_code == 200
    assert bm.delete_after_days(B, "k", 7)[1].status_code == 200
    info = bm.set_object_lifecycle(B, "k", to_line_after_days=10, delete_after_days=30)[1]
    assert info.status_code == 200
    stat = bm.stat(B, "k")[0]
    assert stat["mimeType"] == "text/plain"
    assert stat["type"] == 1
    assert stat["status"] == 1
    put_s = stat["putTime"] / 1e7
    assert 29 * 86400 < stat["expiration"] - put_s <= 31 * 86400
    assert 9 * 86400 < stat["transitionToIA"] - put_s <= 11 * 86400
    assert bm.change_type(B, "k", 9)[1].status_code == 400
    assert bm.delete_after_days(B, "k", 0)[1].status_code == 200
    bm.set_object_lifecycle(B, "k", delete_after_days=-1, to_line_after_days=-1)
    stat = bm.stat(B, "k")[0]
    assert "expiration" not in stat and "transitionToIA" not in stat
    assert bm.change_status(B, "k", 0, None)[1].status_code == 200
    assert "status" not in bm.stat(B, "k")[0]


def test_restore_archive(emulator: RunningEmulator) -> None:
    _, bm = sdk_for(emulator)
    _put(emulator, "arch", b"cold")
    assert bm.restore_ar(B, "arch", 3)[1].status_code == 400  # not an archive object
    bm.change_type(B, "arch", 2)
    assert bm.restore_ar(B, "arch", 3)[1].status_code == 200
    assert bm.stat(B, "arch")[0]["restoreStatus"] == 1
    time.sleep(1.1)
    assert bm.stat(B, "arch")[0]["restoreStatus"] == 2


def test_batch_every_builder_with_partial_failure(emulator: RunningEmulator) -> None:
    _, bm = sdk_for(emulator)
    for k in ("s1", "d1", "m1", "c1", "r1", "ar"):
        _put(emulator, k, k.encode())
    bm.change_type(B, "ar", 2)
    ops = (qiniu.build_batch_stat(B, ["s1", "missing"])
           + qiniu.build_batch_delete(B, ["d1"])
           + qiniu.build_batch_move(B, {"m1": "m2"}, B, force="false")
           + qiniu.build_batch_copy(B, {"c1": "c2"}, B, force="false")
           + qiniu.build_batch_rename(B, {"r1": "r2"}, force="false")
           + qiniu.build_batch_restore_ar(B, {"ar": 2})
           + ["chtype/" + qiniu.utils.entry(B, "s1") + "/type/1"])
    ret, info = bm.batch(ops)
    assert info.status_code == 298
    assert ret is None  # the SDK only parses 200; the array is in text_body
    results = json.loads(info.text_body)
    assert [r["code"] for r in results] == [200, 612, 200, 200, 200, 200, 200, 200]
    assert results[0]["data"]["hash"] == qiniu.utils.etag_stream(__import__("io").BytesIO(b"s1"))
    assert results[1]["data"] == {"error": "no such file or directory"}
    keys = {o.key for o in emulator.store.list(B)[0]}
    assert keys == {"s1", "m2", "c1", "c2", "r2", "ar"}
    assert bm.stat(B, "s1")[0]["type"] == 1
    ret, info = bm.batch(qiniu.build_batch_stat(B, ["s1", "c2"]))
    assert info.status_code == 200 and [r["code"] for r in ret] == [200, 200]


def test_batch_accepts_leading_slash_and_refuses_garbage(emulator: RunningEmulator) -> None:
    _put(emulator, "k", b"x")
    resp = mgmt(emulator, "POST", "/batch", data={"op": ["/stat/" + qiniu.utils.entry(B, "k"), "bogus/xx"]})
    assert resp.status_code == 298
    assert [r["code"] for r in resp.json()] == [200, 400]
    assert mgmt(emulator, "POST", "/batch", data={}).status_code == 400


def test_stat_get_and_qbox_auth_accepted(emulator: RunningEmulator) -> None:
    _put(emulator, "k", b"x")
    path = "/stat/" + qiniu.utils.entry(B, "k")
    assert mgmt(emulator, "GET", path).status_code == 200
    auth = qiniu.Auth(emulator.config.access_key, emulator.config.secret_key)
    resp = requests.post(emulator.url + path, auth=qiniu.auth.RequestsAuth(auth), timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["fsize"] == 1


def test_private_bucket_flags_and_uc_admin(emulator: RunningEmulator) -> None:
    import qiniu.config as qconfig

    assert emulator.store.is_private("private-bucket") is True
    assert emulator.store.is_private("test-bucket") is False
    resp = mgmt(emulator, "POST", "/v2/bucketInfo?bucket=private-bucket")
    assert resp.status_code == 200 and resp.json()["private"] == 1
    with sdk_config_restored():
        qconfig.set_default(default_uc_host=emulator.url)
        auth, _ = sdk_for(emulator)
        bm = qiniu.BucketManager(auth)
        ret, info = bm.buckets()
        assert info.status_code == 200
        assert sorted(ret) == ["other-bucket", "private-bucket", "test-bucket"]
        ret, info = bm.change_bucket_permission("test-bucket", 1)
        assert info.status_code == 200
        assert emulator.store.is_private("test-bucket") is True


def test_stat_parts_only_with_needparts(emulator: RunningEmulator) -> None:
    token = qiniu.Auth(emulator.config.access_key, emulator.config.secret_key).upload_token(B, "mp")
    import base64

    obj = base64.urlsafe_b64encode(b"mp").decode()
    headers = {"Authorization": f"UpToken {token}"}
    base = f"{emulator.url}/buckets/{B}/objects/{obj}/uploads"
    upload_id = requests.post(base, headers=headers, timeout=30).json()["uploadId"]
    parts = [(1, b"a" * (1024 * 1024)), (2, b"tail")]
    etags = [requests.put(f"{base}/{upload_id}/{n}", data=d, headers=headers, timeout=30).json()["etag"]
             for n, d in parts]
    done = requests.post(f"{base}/{upload_id}", headers=headers, timeout=30,
                         json={"parts": [{"partNumber": n, "etag": e} for (n, _), e in zip(parts, etags, strict=True)]})
    assert done.status_code == 200, done.text
    path = "/stat/" + qiniu.utils.entry(B, "mp")
    assert "parts" not in mgmt(emulator, "POST", path).json()
    assert mgmt(emulator, "POST", path + "?needparts=true").json()["parts"] == [1024 * 1024, 4]
