"""Upload callbacks and persistentOps through the official SDK's put_data / put_file."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import qiniu

from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator_services.helpers import Origin
from tests.emulator_services.test_pfop import wait_done
from tests.fixtures.emulator import sdk_for

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"  # an ISO media header: what Kodo's av fops decode


def test_callback_is_posted_signed_and_relayed(emulator: RunningEmulator, origin: Origin) -> None:
    auth, bm = sdk_for(emulator)
    origin.replies["/cb"] = (200, json.dumps({"stored": True, "who": "callback server"}).encode())
    policy = {
        "callbackUrl": f"{origin.url}/cb",
        "callbackHost": "callback.example.com",
        "callbackBody": "key=$(key)&hash=$(etag)&size=$(fsize)&foo=$(x:foo)&b=$(bucket)",
    }
    token = auth.upload_token("test-bucket", "cb.txt", 3600, policy)
    ret, info = qiniu.put_data(token, "cb.txt", b"hello callback", params={"x:foo": "a b"})
    assert info.status_code == 200, info
    assert ret == {"stored": True, "who": "callback server"}
    call = origin.posts("/cb")[0]
    assert call.headers["Host"] == "callback.example.com"
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = urllib.parse.parse_qs(call.body.decode())
    assert {k: v for k, v in form.items() if k != "hash"} == \
        {"key": ["cb.txt"], "size": ["14"], "foo": ["a b"], "b": ["test-bucket"]}
    stat, _ = bm.stat("test-bucket", "cb.txt")
    assert form["hash"] == [stat["hash"]]
    # The SDK's own verifier accepts the signature (the URL is what Kodo called).
    assert auth.verify_callback(call.headers["Authorization"], f"{origin.url}/cb", call.body.decode())


def test_json_callback_and_fallback_url(emulator: RunningEmulator, origin: Origin) -> None:
    auth, _ = sdk_for(emulator)
    origin.replies["/down"] = (500, b"broken")
    policy = {
        "callbackUrl": f"http://127.0.0.1:1/refused;{origin.url}/down;{origin.url}/ok",
        "callbackBody": '{"key":"$(key)","fsize":$(fsize),"mime":"$(mimeType)"}',
        "callbackBodyType": "application/json",
    }
    token = auth.upload_token("test-bucket", "j.txt", 3600, policy)
    ret, info = qiniu.put_data(token, "j.txt", b"json body", mime_type="text/plain")
    assert info.status_code == 200, info
    sent = json.loads(origin.posts("/ok")[0].body)
    assert sent == {"key": "j.txt", "fsize": 9, "mime": "text/plain"}
    assert ret["ok"] is True and len(origin.posts("/down")) == 1


def test_callback_failure_is_579_and_object_stays(emulator: RunningEmulator, origin: Origin) -> None:
    auth, bm = sdk_for(emulator)
    origin.replies["/fail"] = (500, b"nope")
    token = auth.upload_token("test-bucket", "f.txt", 3600,
                              {"callbackUrl": f"{origin.url}/fail", "callbackBody": "k=$(key)"})
    ret, info = qiniu.put_data(token, "f.txt", b"stored anyway")
    assert info.status_code == 579 and "callback" in info.text_body
    assert bm.stat("test-bucket", "f.txt")[1].status_code == 200
    token = auth.upload_token("test-bucket", "g.txt", 3600,
                              {"callbackUrl": "http://example.com/cb", "callbackBody": "k=$(key)"})
    _, info = qiniu.put_data(token, "g.txt", b"x")
    assert info.status_code == 579 and "loopback" in info.text_body


def test_callback_fetch_key_renames(emulator: RunningEmulator, origin: Origin) -> None:
    auth, bm = sdk_for(emulator)
    origin.replies["/fk"] = (200, json.dumps({"key": "renamed.txt", "payload": {"done": 1}}).encode())
    token = auth.upload_token("test-bucket", None, 3600, {
        "callbackUrl": f"{origin.url}/fk", "callbackBody": "k=$(key)", "callbackFetchKey": 1})
    ret, info = qiniu.put_data(token, None, b"fetch key")
    assert info.status_code == 200, info
    assert ret == {"done": 1}
    assert bm.stat("test-bucket", "renamed.txt")[1].status_code == 200


def test_persistent_ops_on_upload(emulator: RunningEmulator, origin: Origin, tmp_path: Path) -> None:
    auth, bm = sdk_for(emulator)
    save = qiniu.urlsafe_base64_encode("other-bucket:up/thumb.jpg")
    policy = {"persistentOps": f"vframe/jpg/offset/1|saveas/{save};avinfo", "persistentPipeline": "pl",
              "persistentNotifyUrl": f"{origin.url}/pnotify", "persistentType": 1}
    token = auth.upload_token("test-bucket", "up/video.mp4", 3600, policy)
    ret, info = qiniu.put_data(token, "up/video.mp4", MP4_HEAD + b"pretend video", mime_type="video/mp4")
    assert info.status_code == 200, info
    pid = ret["persistentId"]
    status = wait_done(qiniu.PersistentFop(auth, "test-bucket"), pid)
    assert status["code"] == 0 and status["pipeline"] == "pl" and status["type"] == 1
    assert status["items"][0]["key"] == "up/thumb.jpg"
    assert bm.stat("other-bucket", "up/thumb.jpg")[1].status_code == 200
    assert json.loads(origin.wait_posts("/pnotify")[0].body)["id"] == pid
    # returnBody and callbacks see $(persistentId) too; a resumable upload queues the same way.
    path = tmp_path / "v.bin"
    path.write_bytes(MP4_HEAD + b"v" * 5000)  # avinfo needs media (Kodo fails anything else)
    token = auth.upload_token("test-bucket", "v.bin", 3600, {
        "persistentOps": "avinfo", "returnBody": '{"pid":"$(persistentId)","key":"$(key)"}'})
    qiniu.config.set_default(default_upload_threshold=1024)
    try:
        ret, info = qiniu.put_file_v2(token, "v.bin", str(path), part_size=1024 * 1024)
    finally:
        qiniu.config.set_default(default_upload_threshold=8 * 1024 * 1024)
    assert info.status_code == 200, info
    assert ret["key"] == "v.bin" and ret["pid"].startswith("z0.")
    assert wait_done(qiniu.PersistentFop(auth, "test-bucket"), ret["pid"])["code"] == 0


def test_bad_persistent_ops_fail_the_job_not_the_upload(emulator: RunningEmulator) -> None:
    auth, bm = sdk_for(emulator)
    missing = qiniu.urlsafe_base64_encode("no-such-bucket:x")
    for ops in ("avthumb|saveas/%%%", f"avthumb/mp4|saveas/{missing}"):
        token = auth.upload_token("test-bucket", "bad.txt", 3600, {"persistentOps": ops})
        ret, info = qiniu.put_data(token, "bad.txt", b"x")
        assert info.status_code == 200, info
        status = wait_done(qiniu.PersistentFop(auth, "test-bucket"), ret["persistentId"])
        assert status["code"] == 3 and status["items"][0]["error"]
    assert bm.stat("test-bucket", "bad.txt")[1].status_code == 200
