"""Downloads: headers, ranges, private-bucket tokens from the SDK, timestamp anti-leech."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import qiniu
import requests
from qiniu import create_timestamp_anti_leech_url

from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator_services.helpers import put
from tests.fixtures.emulator import sdk_for

DATA = bytes(range(256)) * 40


def test_public_download_headers_range_head(emulator: RunningEmulator) -> None:
    digest = put(emulator, "test-bucket", "dir/file name.bin", DATA, "application/x-test")
    url = f"{emulator.url}/dl/test-bucket/{urllib.parse.quote('dir/file name.bin')}"
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and response.content == DATA
    headers = response.headers
    assert headers["Content-Type"] == "application/x-test"
    assert headers["ETag"] == f'"{digest}"' and headers["Accept-Ranges"] == "bytes"
    assert headers["X-Reqid"] and headers["Last-Modified"]
    ranged = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == DATA[10:20]
    assert ranged.headers["Content-Range"] == f"bytes 10-19/{len(DATA)}"
    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and head.content == b"" and head.headers["Content-Length"] == str(len(DATA))
    cached = requests.get(url, headers={"If-None-Match": f'"{digest}"'}, timeout=10)
    assert cached.status_code == 304
    assert requests.get(f"{emulator.url}/dl/test-bucket/absent", timeout=10).status_code == 404
    assert requests.get(f"{emulator.url}/dl/no-bucket/x", timeout=10).status_code == 404


def test_disabled_object_is_forbidden(emulator: RunningEmulator) -> None:
    _, bm = sdk_for(emulator)
    put(emulator, "test-bucket", "off.txt", b"off")
    _, info = bm.change_status("test-bucket", "off.txt", 1, None)
    assert info.status_code == 200, info
    assert requests.get(f"{emulator.url}/dl/test-bucket/off.txt", timeout=10).status_code == 403


def test_private_bucket_accepts_sdk_urls_and_refuses_others(emulator: RunningEmulator) -> None:
    auth, _ = sdk_for(emulator)
    put(emulator, "private-bucket", "secret.txt", b"top secret")
    base = f"{emulator.url}/dl/private-bucket/secret.txt"
    assert requests.get(base, timeout=10).status_code == 401
    signed = auth.private_download_url(base, expires=300)
    ok = requests.get(signed, timeout=10)
    assert ok.status_code == 200 and ok.content == b"top secret"
    ranged = requests.get(signed, headers={"Range": "bytes=0-2"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == b"top"
    with_query = auth.private_download_url(base + "?attname=x.txt", expires=300)
    attached = requests.get(with_query, timeout=10)
    assert attached.status_code == 200 and "x.txt" in attached.headers["Content-Disposition"]
    refused = [
        signed.replace("secret.txt", "secret.txu"),                       # another key
        signed[:-3] + ("AAA" if not signed.endswith("AAA") else "BBB"),   # forged sign
        auth.private_download_url(base, expires=-10),                     # expired
        qiniu.Auth("test-ak", "other-sk").private_download_url(base, 300),  # other secret
        signed.replace("e=", "e=1"),                                      # deadline edited
    ]
    for url in refused:
        response = requests.get(url, timeout=10)
        assert response.status_code == 401, url
        assert response.json()["error"]
    # A private key that does not exist is still 401 without a token (no probing).
    assert requests.get(f"{emulator.url}/dl/private-bucket/absent", timeout=10).status_code == 401


def test_timestamp_anti_leech(emulator_factory: Any) -> None:
    emulator = emulator_factory(anti_leech_key="leech-key")
    put(emulator, "test-bucket", "cdn/中文 a.txt", b"guarded")
    deadline = int(time.time()) + 300
    full = create_timestamp_anti_leech_url(emulator.url, "dl/test-bucket/cdn/中文 a.txt", None, "leech-key", deadline)
    response = requests.get(full, timeout=10)
    assert response.status_code == 200 and response.content == b"guarded"
    # Signed as a CDN domain sees it (path relative to the bucket), with a query string.
    relative = create_timestamp_anti_leech_url(f"{emulator.url}/dl/test-bucket", "cdn/中文 a.txt",
                                               "v=1", "leech-key", deadline)
    assert requests.get(relative, timeout=10).status_code == 200
    bad = [
        create_timestamp_anti_leech_url(emulator.url, "dl/test-bucket/cdn/中文 a.txt", None, "wrong", deadline),
        create_timestamp_anti_leech_url(emulator.url, "dl/test-bucket/cdn/中文 a.txt", None, "leech-key",
                                        int(time.time()) - 10),
        f"{emulator.url}/dl/test-bucket/{urllib.parse.quote('cdn/中文 a.txt')}",
        full.replace("&t=", "&t=0"),
    ]
    for url in bad:
        assert requests.get(url, timeout=10).status_code == 403, url


def test_metadata_headers_from_an_upload(emulator: RunningEmulator) -> None:
    auth, _ = sdk_for(emulator)
    token = auth.upload_token("test-bucket", "meta.txt", 3600)
    ret, info = qiniu.put_data(token, "meta.txt", b"with metadata", metadata={"x-qn-meta-color": "blue"})
    assert info.status_code == 200, info
    response = requests.get(f"{emulator.url}/dl/test-bucket/meta.txt", timeout=10)
    assert response.status_code == 200 and response.content == b"with metadata"
    assert response.headers["X-Qn-Meta-Color"] == "blue"
