"""kind: cdn end to end: 250 URLs split under the per-request limit, directories and prefetch,
daily quota exhaustion (clean stop, named quota, exit 1), and the traffic/log report. The quota
the emulator counted is read back with the official SDK's CdnManager."""

from __future__ import annotations

import csv
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qiniu
from qiniu import CdnManager

from kodo_jobs.emulator.server import RunningEmulator
from tests.e2e.sync_helpers import AK, SK, cli, serve, write_manifest


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[RunningEmulator]:
    with serve(tmp_path / "emulator-data") as running:
        yield running


def sdk_cdn(emu: RunningEmulator) -> CdnManager:
    manager = CdnManager(qiniu.Auth(AK, SK))
    manager.server = emu.url
    return manager


def set_limits(emu: RunningEmulator, **limits: int) -> None:
    req = urllib.request.Request(emu.url + "/_emulator/cdn", data=json.dumps(limits).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()  # noqa: S310 - loopback


def cdn_job(**fields: Any) -> dict[str, Any]:
    return {"name": "purge", "kind": "cdn", **fields}


def requests_to(emu: RunningEmulator, route: str) -> int:
    return int(emu.stats()["requests"].get(route, 0))


URLS = [f"https://cdn.example.com/site/{i:03d}.html" for i in range(250)]


def test_250_urls_split_under_the_limit(emu: RunningEmulator, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    res = cli("run", write_manifest(tmp_path, emu.url, cdn_job(refresh_urls=URLS)), "--report", report)
    assert res.code == 0, res.out + res.err
    assert requests_to(emu, "fusion.refresh") == 5  # 60+40+60+40+50: no request refused, none over 60
    assert json.loads(report.read_text())["jobs"][0]["counts"]["refresh"]["done"] == 250
    ret, info = sdk_cdn(emu).refresh_urls(["https://cdn.example.com/one-more.html"])
    assert ret is not None and ret["urlSurplusDay"] == 500 - 250 - 1, info


def test_dirs_and_prefetch_use_their_own_limits(emu: RunningEmulator, tmp_path: Path) -> None:
    dirs = [f"https://cdn.example.com/d{i}/" for i in range(10)]
    job = cdn_job(refresh_dirs=dirs, prefetch_urls=URLS[:3], dirs_per_request=4)
    res = cli("run", write_manifest(tmp_path, emu.url, job))
    assert res.code == 0, res.out + res.err
    assert requests_to(emu, "fusion.refresh") == 3  # 4 + 4 + 2
    assert requests_to(emu, "fusion.prefetch") == 1
    ret, _ = sdk_cdn(emu).prefetch_urls([URLS[10]])
    assert ret is not None and ret["surplusDay"] == 100 - 3 - 1
    ret, info = sdk_cdn(emu).refresh_dirs(["https://cdn.example.com/x/"])
    assert ret is None and "400035" in info.text_body  # 10 dirs a day: all used by the job


def test_quota_exhaustion_stops_cleanly(emu: RunningEmulator, tmp_path: Path) -> None:
    set_limits(emu, url_quota=100)
    report = tmp_path / "r.json"
    res = cli("run", write_manifest(tmp_path, emu.url, cdn_job(refresh_urls=URLS)), "--report", report)
    assert res.code == 1
    job = json.loads(report.read_text())["jobs"][0]
    assert job["counts"]["refresh"]["done"] == 100 and job["counts"]["refresh"]["failed"] == 150
    assert job["failures_total"] == 150
    assert {f["code"] for f in job["failures"]} == {400034}
    assert "URL refresh quota of 100 is used up" in job["failures"][0]["message"]
    # calls run in parallel, so a few race past the quota before one learns it (each refused
    # request is halved down to one URL); after that nothing more is sent
    assert requests_to(emu, "fusion.refresh") <= 16
    ret, info = sdk_cdn(emu).refresh_urls(["https://cdn.example.com/late.html"])
    assert ret is None and "400034" in info.text_body


def test_report_writes_series_and_downloads_logs_once(emu: RunningEmulator, tmp_path: Path) -> None:
    report = {"domains": ["a.example.com", "b.example.com"], "start": "2024-01-01", "end": "2024-01-03",
              "bandwidth": True, "out": "out/traffic.csv", "logs_day": "2024-01-02", "logs_dir": "logs"}
    manifest = write_manifest(tmp_path, emu.url, cdn_job(report=report))
    res = cli("run", manifest)
    assert res.code == 0, res.out + res.err
    rows = list(csv.DictReader((tmp_path / "out/traffic.csv").open()))
    assert {r["metric"] for r in rows} == {"flux", "bandwidth"}
    assert {r["domain"] for r in rows} == {"a.example.com", "b.example.com"}
    ret, _ = sdk_cdn(emu).get_flux_data(["a.example.com"], "2024-01-01", "2024-01-03", "day")
    assert ret is not None
    expected = [float(v) for v in ret["data"]["a.example.com"]["china"]]
    got = [float(r["value"]) for r in rows if r["metric"] == "flux" and r["domain"] == "a.example.com"
           and r["area"] == "china"]
    assert got == expected
    logs = sorted(p.relative_to(tmp_path / "logs").as_posix() for p in (tmp_path / "logs").rglob("*") if p.is_file())
    ret, _ = sdk_cdn(emu).get_log_list_data(["a.example.com", "b.example.com"], "2024-01-02")
    assert ret is not None
    listed = sorted(f"{d}/{f['name']}" for d, files in ret["data"].items() for f in files)
    assert logs == listed and logs
    downloads = requests_to(emu, "fusion.log_file")
    res = cli("run", manifest)
    assert res.code == 0 and requests_to(emu, "fusion.log_file") == downloads  # already downloaded: skipped
