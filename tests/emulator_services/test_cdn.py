"""Every CdnManager call against the emulator's fusion service."""

from __future__ import annotations

import gzip
import json
from typing import Any

import qiniu
import requests
from qiniu import CdnManager, DataType
from qiniu.auth import RequestsAuth

from kodo_jobs.emulator.server import RunningEmulator


def cdn_for(emulator: RunningEmulator, sk: str = "test-sk") -> CdnManager:
    manager = CdnManager(qiniu.Auth("test-ak", sk))
    manager.server = emulator.url
    return manager


def error_of(info: Any) -> dict[str, Any]:
    assert info.status_code == 400, info
    return dict(json.loads(info.text_body))


def test_refresh_and_prefetch_calls(emulator: RunningEmulator) -> None:
    cdn = cdn_for(emulator)
    ret, info = cdn.refresh_urls(["http://cdn.example.com/a.jpg", "https://cdn.example.com/b.jpg"])
    assert info.status_code == 200, info
    assert ret["code"] == 200 and ret["urlQuotaDay"] == 500 and ret["urlSurplusDay"] == 498
    assert set(ret["taskIds"]) == {"http://cdn.example.com/a.jpg", "https://cdn.example.com/b.jpg"}
    ret, _ = cdn.refresh_dirs(["http://cdn.example.com/site/"])
    assert (ret["dirQuotaDay"], ret["dirSurplusDay"], ret["urlSurplusDay"]) == (10, 9, 498)
    ret, _ = cdn.refresh_urls_and_dirs(["http://cdn.example.com/c.jpg"], ["http://cdn.example.com/d/"])
    assert (ret["urlSurplusDay"], ret["dirSurplusDay"]) == (497, 8)
    ret, _ = cdn.prefetch_urls(["http://cdn.example.com/a.jpg"])
    assert ret["code"] == 200 and (ret["quotaDay"], ret["surplusDay"]) == (100, 99)
    # The task list APIs (not in the Python SDK) find the tasks again.
    listed = requests.post(f"{emulator.url}/v2/tune/refresh/list", json={"requestId": ""},
                           auth=RequestsAuth(qiniu.Auth("test-ak", "test-sk")), timeout=10).json()
    assert listed["total"] == 5


def test_invalid_urls_are_listed_and_nothing_is_counted(emulator: RunningEmulator) -> None:
    cdn = cdn_for(emulator)
    body = error_of(cdn.refresh_urls(["not a url", "http://cdn.example.com/ok"])[1])
    assert body["code"] == 400031 and body["invalidUrls"] == ["not a url"]
    body = error_of(cdn.refresh_dirs(["http://cdn.example.com/no-slash"])[1])
    assert body["code"] == 400031 and body["invalidDirs"] == ["http://cdn.example.com/no-slash"]
    ret, _ = cdn.refresh_urls(["http://cdn.example.com/ok"])
    assert ret["urlSurplusDay"] == 499


def test_per_request_limits_and_quota_exhaustion(emulator: RunningEmulator) -> None:
    cdn = cdn_for(emulator)
    urls = [f"http://cdn.example.com/{i}" for i in range(61)]
    assert error_of(cdn.refresh_urls(urls)[1])["code"] == 400034
    assert error_of(cdn.refresh_dirs([f"http://cdn.example.com/{i}/" for i in range(11)])[1])["code"] == 400035
    assert error_of(cdn.prefetch_urls(urls)[1])["code"] == 400033
    ret, info = cdn.refresh_urls(urls[:60])
    assert info.status_code == 200 and ret["urlSurplusDay"] == 440
    admin = requests.post(f"{emulator.url}/_emulator/cdn",
                          json={"url_quota": 62, "dir_quota": 1, "prefetch_quota": 2}, timeout=10)
    assert admin.status_code == 200 and admin.json()["url_quota"] == 62
    assert cdn.refresh_urls(urls[:2])[0]["urlSurplusDay"] == 0
    body = error_of(cdn.refresh_urls(urls[:1])[1])
    assert body["code"] == 400034 and "today" in body["error"]
    assert cdn.refresh_dirs(["http://cdn.example.com/x/"])[0]["dirSurplusDay"] == 0
    assert error_of(cdn.refresh_dirs(["http://cdn.example.com/y/"])[1])["code"] == 400035
    assert cdn.prefetch_urls(urls[:2])[0]["surplusDay"] == 0
    assert error_of(cdn.prefetch_urls(urls[:1])[1])["code"] == 400033
    bad = requests.post(f"{emulator.url}/_emulator/cdn", json={"url_quota": -1}, timeout=10)
    assert bad.status_code == 400


def test_flux_and_bandwidth_series(emulator: RunningEmulator) -> None:
    cdn = cdn_for(emulator)
    ret, info = cdn.get_flux_data(["a.com", "b.com"], "2024-01-01", "2024-01-02", "day")
    assert info.status_code == 200, info
    assert ret["time"] == ["2024-01-01 00:00:00", "2024-01-02 00:00:00"]
    assert set(ret["data"]) == {"a.com", "b.com"} and len(ret["data"]["a.com"]["china"]) == 2
    again, _ = cdn.get_flux_data(["a.com", "b.com"], "2024-01-01", "2024-01-02", "day")
    assert again == ret
    ret, _ = cdn.get_bandwidth_data(["a.com"], "2024-01-01", "2024-01-01", "5min", DataType.BANDWIDTH)
    assert len(ret["time"]) == 288 and len(ret["data"]["a.com"]["oversea"]) == 288
    ret, _ = cdn.get_flux_data(["a.com"], "2024-01-01", "2024-01-01", "hour", DataType.X302FLOW)
    assert len(ret["time"]) == 24
    assert error_of(cdn.get_flux_data(["a.com"], "2024-01-02", "2024-01-01", "day")[1])["code"] == 400000
    assert error_of(cdn.get_bandwidth_data(["a.com"], "2024-01-01", "2024-01-01", "day", DataType.FLOW)[1])


def test_log_list_files_download(emulator: RunningEmulator) -> None:
    cdn = cdn_for(emulator)
    ret, info = cdn.get_log_list_data(["a.com", "b.com"], "2024-01-01")
    assert info.status_code == 200, info
    files = ret["data"]["a.com"]
    assert len(files) == 3 and all(f["name"].endswith(".gz") for f in files)
    response = requests.get(files[0]["url"], timeout=10)
    assert response.status_code == 200 and len(response.content) == files[0]["size"]
    assert b"GET http://a.com/" in gzip.decompress(response.content)
    assert requests.get(files[0]["url"].replace("a.com_", "zz_"), timeout=10).status_code == 404


def test_cdn_needs_a_valid_signature(emulator: RunningEmulator) -> None:
    _, info = cdn_for(emulator, sk="wrong").refresh_urls(["http://cdn.example.com/a"])
    assert info.status_code == 401
    ret, _ = cdn_for(emulator).refresh_urls(["http://cdn.example.com/a"])
    assert ret["urlSurplusDay"] == 499  # the refused call counted nothing
