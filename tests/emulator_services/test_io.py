"""fetch / prefetch / async fetch, judged by the official SDK."""

from __future__ import annotations

import hashlib
import io
import time
from typing import Any

import qiniu
import requests
from qiniu.auth import QiniuMacAuth, QiniuMacRequestsAuth
from qiniu.utils import etag_stream

from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator_services.helpers import Origin
from tests.fixtures.emulator import sdk_for


def _download(emulator: RunningEmulator, bucket: str, key: str) -> bytes:
    response = requests.get(f"{emulator.url}/dl/{bucket}/{key}", timeout=10)
    assert response.status_code == 200, response.text
    return response.content


def test_fetch_stores_source_and_returns_its_hash(emulator: RunningEmulator, origin: Origin) -> None:
    data = b"fetched content\n" * 100
    origin.files["/src/a.txt"] = data
    _, bm = sdk_for(emulator)
    ret, info = bm.fetch(f"{origin.url}/src/a.txt", "test-bucket", "copied/a.txt")
    assert info.status_code == 200, info
    assert ret["hash"] == _etag(data)
    assert (ret["key"], ret["fsize"]) == ("copied/a.txt", len(data))
    stat, _ = bm.stat("test-bucket", "copied/a.txt")
    assert stat["hash"] == ret["hash"]
    assert _download(emulator, "test-bucket", "copied/a.txt") == data


def test_fetch_without_key_names_by_hash(emulator: RunningEmulator, origin: Origin) -> None:
    origin.files["/b"] = b"nameless"
    _, bm = sdk_for(emulator)
    ret, info = bm.fetch(f"{origin.url}/b", "test-bucket")
    assert info.status_code == 200, info
    assert ret["key"] == ret["hash"] == _etag(b"nameless")


def test_fetch_source_errors_are_478(emulator: RunningEmulator, origin: Origin) -> None:
    _, bm = sdk_for(emulator)
    before = emulator.store.count_objects()
    ret, info = bm.fetch(f"{origin.url}/missing", "test-bucket", "x")
    assert (ret, info.status_code) == (None, 478)
    assert "404" in info.text_body
    ret, info = bm.fetch("http://example.com/a.txt", "test-bucket", "x")
    assert info.status_code == 478 and "loopback" in info.text_body
    ret, info = bm.fetch("http://127.0.0.1:1/refused", "test-bucket", "x")
    assert info.status_code == 478
    assert emulator.store.count_objects() == before


def test_fetch_needs_a_valid_signature(emulator: RunningEmulator, origin: Origin) -> None:
    origin.files["/a"] = b"a"
    sdk_for(emulator)
    bad = qiniu.BucketManager(qiniu.Auth("test-ak", "wrong-sk"))
    _, info = bad.fetch(f"{origin.url}/a", "test-bucket", "a")
    assert info.status_code == 401
    assert not emulator.store.exists("test-bucket", "a")
    assert not [r for r in origin.received if r.method == "GET"]  # the source was never read


def test_prefetch_needs_a_mirror_then_refreshes_from_it(emulator: RunningEmulator, origin: Origin) -> None:
    _, bm = sdk_for(emulator)
    _, info = bm.prefetch("test-bucket", "m/1.txt")
    assert info.status_code == 612 and "mirror" in info.text_body
    response = requests.post(f"{emulator.url}/_emulator/mirror",
                             json={"bucket": "test-bucket", "source": f"{origin.url}/base/"}, timeout=10)
    assert response.status_code == 200, response.text
    origin.files["/base/m/1.txt"] = b"version 1"
    _, info = bm.prefetch("test-bucket", "m/1.txt")
    assert info.status_code == 200, info
    assert _download(emulator, "test-bucket", "m/1.txt") == b"version 1"
    origin.files["/base/m/1.txt"] = b"version 2"
    _, info = bm.prefetch("test-bucket", "m/1.txt")
    assert info.status_code == 200
    assert _download(emulator, "test-bucket", "m/1.txt") == b"version 2"
    _, info = bm.prefetch("test-bucket", "m/absent.txt")
    assert info.status_code == 478


def test_mirror_admin_refuses_non_loopback_source(emulator: RunningEmulator) -> None:
    response = requests.post(f"{emulator.url}/_emulator/mirror",
                             json={"bucket": "test-bucket", "source": "http://example.com/"}, timeout=10)
    assert response.status_code == 400 and "loopback" in response.json()["error"]


def _async(emulator: RunningEmulator, body: dict[str, Any]) -> dict[str, Any]:
    auth = QiniuMacRequestsAuth(QiniuMacAuth("test-ak", "test-sk"))
    response = requests.post(f"{emulator.url}/sisyphus/fetch", json=body, auth=auth, timeout=10)
    assert response.status_code == 200, response.text
    task = response.json()
    assert task["id"] and task["wait"] >= 0
    for _ in range(500):
        status = requests.get(f"{emulator.url}/sisyphus/fetch", params={"id": task["id"]}, auth=auth, timeout=10)
        assert status.status_code == 200, status.text
        if status.json()["wait"] == -1:
            return dict(status.json())
        time.sleep(0.02)
    raise AssertionError("async fetch did not finish")


def test_async_fetch_runs_in_background_and_verifies(emulator: RunningEmulator, origin: Origin) -> None:
    data = b"async body"
    origin.files["/async"] = data
    done = _async(emulator, {"url": f"http://127.0.0.1:1/down;{origin.url}/async", "bucket": "test-bucket",
                             "key": "as.txt", "md5": hashlib.md5(data).hexdigest(), "etag": _etag(data)})
    assert done["state"] == "done"
    assert _download(emulator, "test-bucket", "as.txt") == data
    bad = _async(emulator, {"url": f"{origin.url}/async", "bucket": "test-bucket", "key": "bad.txt",
                            "md5": "0" * 32})
    assert bad["state"] == "failed" and "md5" in bad["error"]
    assert not emulator.store.exists("test-bucket", "bad.txt")
    origin.files["/async"] = b"changed"
    same = _async(emulator, {"url": f"{origin.url}/async", "bucket": "test-bucket", "key": "as.txt",
                             "ignore_same_key": True})
    assert same["state"] == "done"
    assert _download(emulator, "test-bucket", "as.txt") == data  # kept: ignore_same_key


def test_async_fetch_unsigned_is_refused(emulator: RunningEmulator) -> None:
    response = requests.post(f"{emulator.url}/sisyphus/fetch", json={"url": "http://127.0.0.1/", "bucket": "test-bucket"},
                             timeout=10)
    assert response.status_code == 401


def _etag(data: bytes) -> str:
    return str(etag_stream(io.BytesIO(data)))


def test_fetch_host_segment_sets_the_host_header(emulator: RunningEmulator, origin: Origin) -> None:
    origin.files["/h.txt"] = b"virtual host"
    src = qiniu.urlsafe_base64_encode(f"{origin.url}/h.txt")
    entry = qiniu.urlsafe_base64_encode("test-bucket:h.txt")
    host = qiniu.urlsafe_base64_encode("origin.example.com")
    auth = QiniuMacRequestsAuth(QiniuMacAuth("test-ak", "test-sk"))
    response = requests.post(f"{emulator.url}/fetch/{src}/to/{entry}/host/{host}", auth=auth, timeout=10,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200, response.text
    assert response.json()["key"] == "h.txt"
    got = [r for r in origin.received if r.method == "GET"][-1]
    assert got.headers["Host"] == "origin.example.com"


def test_async_fetch_callback(emulator: RunningEmulator, origin: Origin) -> None:
    origin.files["/cbsrc"] = b"with callback"
    done = _async(emulator, {"url": f"{origin.url}/cbsrc", "bucket": "test-bucket", "key": "cb-af.txt",
                             "callbackurl": f"{origin.url}/afcb", "callbackbody": "key=$(key)&hash=$(etag)",
                             "callbackbodytype": "application/x-www-form-urlencoded"})
    assert done["state"] == "done"
    call = origin.wait_posts("/afcb")[0]
    assert call.body.decode() == f"key=cb-af.txt&hash={_etag(b'with callback')}"
    assert call.headers["Authorization"].startswith("QBox test-ak:")
