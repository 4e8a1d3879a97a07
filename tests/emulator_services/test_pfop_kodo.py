"""pfop / prefop answered as Kodo does (issue 21): prefop needs no credentials (GET, and the
form POST the Node.js SDK sends), and a fop fails an input that is not of its kind."""

from __future__ import annotations

import time
from typing import Any

import pytest
import qiniu
import requests

from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator_services.helpers import put
from tests.fixtures.emulator import sdk_for

B = "test-bucket"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42 pretend video" * 50
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 100
HTML = b"<!doctype html><html><body>hello</body></html>"


def _done(emulator: RunningEmulator, pid: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = requests.get(f"{emulator.url}/status/get/prefop", params={"id": pid}, timeout=10)
        assert resp.status_code == 200, resp.text
        doc: dict[str, Any] = resp.json()
        if doc["code"] not in (1, 2):
            return doc
        time.sleep(0.02)
    raise AssertionError(f"pfop {pid} did not finish")


def _submit(emulator: RunningEmulator, key: str, fops: str) -> str:
    auth, _ = sdk_for(emulator)
    ret, info = qiniu.PersistentFop(auth, B).execute(key, fops=[fops])
    assert info.status_code == 200, info
    return str(ret["persistentId"])


def test_prefop_get_without_credentials(emulator: RunningEmulator) -> None:
    put(emulator, B, "a.mp4", MP4, "video/mp4")
    pid = _submit(emulator, "a.mp4", "avinfo")
    resp = requests.get(f"{emulator.url}/status/get/prefop?id={pid}", timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.json()["id"] == pid


def test_prefop_form_post_without_authorization(emulator: RunningEmulator) -> None:
    put(emulator, B, "a.mp4", MP4, "video/mp4")
    pid = _submit(emulator, "a.mp4", "avinfo")
    resp = requests.post(f"{emulator.url}/status/get/prefop", data={"id": pid}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.json()["id"] == pid and resp.json()["inputKey"] == "a.mp4"


def test_prefop_unknown_id_is_612_without_credentials(emulator: RunningEmulator) -> None:
    resp = requests.get(f"{emulator.url}/status/get/prefop?id=z0.nosuchjob", timeout=10)
    assert resp.status_code == 612, resp.text


def test_pfop_still_needs_credentials(emulator: RunningEmulator) -> None:
    put(emulator, B, "a.mp4", MP4, "video/mp4")
    resp = requests.post(f"{emulator.url}/pfop", data={"bucket": B, "key": "a.mp4", "fops": "avinfo"}, timeout=10)
    assert resp.status_code == 401, resp.text


@pytest.mark.parametrize(("fop", "content", "mime"), [
    ("imageView2/2/w/200", HTML, "text/html"),
    ("imageMogr2/thumbnail/100x", MP4, "video/mp4"),
    ("imageInfo", MP3, "audio/mpeg"),
    # the client-declared MIME type does not count: Kodo looks at the bytes
    ("imageView2/1/w/10", HTML, "image/png"),
])
def test_image_fop_on_a_non_image_fails_like_kodo(emulator: RunningEmulator, fop: str, content: bytes,
                                                  mime: str) -> None:
    put(emulator, B, "in", content, mime)
    before = emulator.store.count_objects()
    status = _done(emulator, _submit(emulator, "in", fop))
    assert status["code"] == 3 and status["desc"] == "The fop is failed"
    (item,) = status["items"]
    assert item["code"] == 3 and item["desc"] == "The fop is failed"
    assert item["error"] == "execute fop cmd failed: not a valid image"
    assert "key" not in item and "hash" not in item
    assert emulator.store.count_objects() == before  # no output saved


@pytest.mark.parametrize(("fop", "content", "mime"), [
    ("avthumb/mp4/s/640x360", HTML, "video/mp4"),
    ("vframe/jpg/offset/1", PNG, "image/png"),
    ("vframe/jpg/offset/1", MP3, "audio/mpeg"),  # audio has no frames
    ("avinfo", HTML, "text/html"),
])
def test_av_fop_on_a_non_media_fails_like_kodo(emulator: RunningEmulator, fop: str, content: bytes,
                                               mime: str) -> None:
    put(emulator, B, "in", content, mime)
    before = emulator.store.count_objects()
    status = _done(emulator, _submit(emulator, "in", fop))
    (item,) = status["items"]
    assert status["code"] == 3 and item["code"] == 3
    assert item["error"] == "execute fop cmd failed: not a valid media"
    assert emulator.store.count_objects() == before


@pytest.mark.parametrize(("fop", "content"), [
    ("imageView2/2/w/200", PNG),
    ("imageInfo", PNG),
    ("avthumb/mp3", MP3),
    ("avthumb/mp4", MP4),
    ("vframe/jpg/offset/1", MP4),
    ("avinfo", MP3),
])
def test_fop_on_its_own_kind_succeeds(emulator: RunningEmulator, fop: str, content: bytes) -> None:
    put(emulator, B, "in", content, "application/octet-stream")
    status = _done(emulator, _submit(emulator, "in", fop))
    assert status["code"] == 0, status["items"]
