"""pfop / prefop through the official SDK's PersistentFop."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import qiniu
import requests

from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator_services.helpers import Origin, put
from tests.fixtures.emulator import sdk_for

VIDEO = b"\x00\x00\x00\x18ftypmp42 pretend video" * 50


def wait_done(pf: Any, persistent_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """Poll prefop until the job leaves waiting/processing; returns the last status."""
    seen = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ret, info = pf.get_status(persistent_id)
        assert info.status_code == 200, info
        seen.add(ret["code"])
        if ret["code"] not in (1, 2):
            ret["_seen"] = seen
            return dict(ret)
        time.sleep(0.02)
    raise AssertionError(f"pfop {persistent_id} did not finish")


def test_pfop_runs_saves_fails_unknown_and_notifies(emulator: RunningEmulator, origin: Origin) -> None:
    auth, bm = sdk_for(emulator)
    put(emulator, "test-bucket", "v/clip.mp4", VIDEO, "video/mp4")
    pf = qiniu.PersistentFop(auth, "test-bucket", pipeline="p1", notify_url=f"{origin.url}/notify")
    fops = [
        qiniu.op_save("vframe/jpg/offset/1", "other-bucket", "thumbs/clip.jpg"),
        "nosuchfop/x/1",
        "avinfo",
        "avthumb/mp4/s/640x360",
    ]
    ret, info = pf.execute("v/clip.mp4", fops=fops, persistent_type=1)
    assert info.status_code == 200, info
    pid = ret["persistentId"]
    assert pid.startswith("z0.")
    status = wait_done(pf, pid)
    assert status["code"] == 3  # one item failed, so the job failed
    assert 1 in status["_seen"] or 2 in status["_seen"]  # it was observed before it finished
    assert (status["inputBucket"], status["inputKey"], status["pipeline"], status["type"]) == \
        ("test-bucket", "v/clip.mp4", "p1", 1)
    saved, unknown, avinfo, thumb = status["items"]
    assert saved["code"] == 0 and saved["key"] == "thumbs/clip.jpg"
    assert unknown["code"] == 3 and "unsupported fop: 'nosuchfop'" in unknown["error"]
    assert avinfo["code"] == 0 and avinfo["result"]["sha1"] == hashlib.sha1(VIDEO).hexdigest()
    assert "key" not in avinfo  # info fops return JSON, they save nothing
    assert thumb["code"] == 0 and emulator.store.exists("test-bucket", thumb["key"])
    # The saveas output is a real object whose bytes derive from the input.
    stat, _ = bm.stat("other-bucket", "thumbs/clip.jpg")
    assert stat["hash"] == saved["hash"] and stat["mimeType"] == "image/jpeg"
    body = requests.get(f"{emulator.url}/dl/other-bucket/thumbs/clip.jpg", timeout=10).content
    assert b"vframe/jpg/offset/1" in body and hashlib.sha1(VIDEO).hexdigest().encode() in body
    # notifyURL received the final prefop JSON.
    note = origin.wait_posts("/notify")[0]
    sent = json.loads(note.body)
    assert sent["id"] == pid and sent["code"] == 3 and len(sent["items"]) == 4


def test_pfop_output_is_deterministic_and_force_overwrites(emulator: RunningEmulator) -> None:
    auth, _ = sdk_for(emulator)
    put(emulator, "test-bucket", "doc.md", b"# title\n", "text/markdown")
    pf = qiniu.PersistentFop(auth, "test-bucket")
    op = qiniu.op_save("md2html", "test-bucket", "doc.html")
    first = wait_done(pf, pf.execute("doc.md", fops=[op])[0]["persistentId"])
    again = wait_done(pf, pf.execute("doc.md", fops=[op])[0]["persistentId"])
    forced = wait_done(pf, pf.execute("doc.md", fops=[op], force=1)[0]["persistentId"])
    assert [s["code"] for s in (first, again, forced)] == [0, 0, 0]
    assert [s["items"][0]["returnOld"] for s in (first, again, forced)] == [0, 1, 0]
    assert first["items"][0]["hash"] == again["items"][0]["hash"] == forced["items"][0]["hash"]


def test_pfop_refusals(emulator: RunningEmulator) -> None:
    auth, _ = sdk_for(emulator)
    pf = qiniu.PersistentFop(auth, "test-bucket")
    _, info = pf.execute("missing.mp4", fops=["avinfo"])
    assert info.status_code == 612
    put(emulator, "test-bucket", "a", b"a")
    _, info = pf.execute("a", fops=["avthumb/mp4|saveas/" + qiniu.urlsafe_base64_encode("nobucket:x")])
    assert info.status_code == 631
    _, info = qiniu.PersistentFop(auth, "no-such-bucket").execute("a", fops=["avinfo"])
    assert info.status_code == 631
    _, info = qiniu.PersistentFop(qiniu.Auth("test-ak", "bad"), "test-bucket").execute("a", fops=["avinfo"])
    assert info.status_code == 401
    _, info = pf.get_status("z0.unknown")
    assert info.status_code == 612


def test_pfop_jobs_survive_a_restart(emulator_factory: Any, tmp_path: Any) -> None:
    first = emulator_factory(data_dir=tmp_path / "data")
    auth, _ = sdk_for(first)
    put(first, "test-bucket", "s.txt", VIDEO)
    pf = qiniu.PersistentFop(auth, "test-bucket")
    pid = pf.execute("s.txt", fops=["avinfo"])[0]["persistentId"]
    done = wait_done(pf, pid)
    first.stop()
    second = emulator_factory(data_dir=tmp_path / "data")
    auth, _ = sdk_for(second)
    again = wait_done(qiniu.PersistentFop(auth, "test-bucket"), pid)
    assert again["items"] == done["items"] and again["code"] == 0
