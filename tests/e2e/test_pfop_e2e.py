"""kind: pfop end to end: templated saveas outputs verified in the bucket with the official SDK,
a failing fop reported, per-fop results in the report, and a rerun that resubmits nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.kodo.client import KodoClient
from tests.e2e.sync_helpers import AK, BUCKET, SK, _sdk, cli, serve, write_manifest


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[RunningEmulator]:
    with serve(tmp_path / "emulator-data") as running:
        with KodoClient.for_endpoint(running.url, AK, SK) as client:
            for name in ("video/a/one.mp4", "video/two.mp4", "video/skip.txt"):
                # an MP4 header: Kodo's av fops fail anything that is not media
                client.upload.upload_bytes(BUCKET, name, b"\x00\x00\x00\x18ftypmp42" + f"fake video {name}".encode() * 50)
        yield running


def pfop_job(**fields: Any) -> dict[str, Any]:
    return {"name": "thumbs", "kind": "pfop", "bucket": BUCKET, "poll_interval": "0.2s", "timeout": "60s", **fields}


FOPS = ["avthumb/mp4/s/640x360|saveas/$(bucket):out/$(dir)$(stem).360p.mp4",
        "vframe/jpg/offset/1|saveas/$(bucket):thumbs/$(stem).jpg"]


def submitted(emu: RunningEmulator) -> int:
    return int(emu.stats()["requests"].get("api.pfop", 0))


def test_saveas_outputs_results_and_no_resubmission(emu: RunningEmulator, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, emu.url, pfop_job(select={"prefix": "video/", "suffix": ".mp4"}, fops=FOPS))
    report = tmp_path / "report.json"
    res = cli("run", manifest, "--report", report)
    assert res.code == 0, res.out + res.err
    bm = _sdk(emu.url)
    for key in ("out/video/a/one.360p.mp4", "out/video/two.360p.mp4", "thumbs/one.jpg", "thumbs/two.jpg"):
        ret, info = bm.stat(BUCKET, key)
        assert ret is not None, (key, info)
    assert bm.stat(BUCKET, "out/video/skip.360p.txt")[0] is None  # not selected
    job = json.loads(report.read_text())["jobs"][0]
    results = {r["key"]: r for r in job["results"]}
    assert sorted(results) == ["video/a/one.mp4", "video/two.mp4"]
    one = results["video/a/one.mp4"]
    assert one["persistent_id"] and one["code"] == 0
    assert sorted(i["key"] for i in one["items"]) == ["out/video/a/one.360p.mp4", "thumbs/one.jpg"]
    assert all(i["code"] == 0 for i in one["items"])
    count = submitted(emu)
    assert count == 2
    res = cli("run", manifest)
    assert res.code == 0 and submitted(emu) == count  # the checkpoint remembers the succeeded jobs


def test_failing_fop_and_missing_source_are_reported(emu: RunningEmulator, tmp_path: Path) -> None:
    job = pfop_job(keys=["video/two.mp4", "video/nope.mp4"], fops=["nosuchfop/x|saveas/$(bucket):bad/$(key)"])
    report = tmp_path / "report.json"
    res = cli("run", write_manifest(tmp_path, emu.url, job), "--report", report)
    assert res.code == 1
    failures = {f["key"]: f for f in json.loads(report.read_text())["jobs"][0]["failures"]}
    assert failures["video/two.mp4"]["code"] == 3 and "nosuchfop" in failures["video/two.mp4"]["message"]
    assert failures["video/nope.mp4"]["code"] == 612
    assert _sdk(emu.url).stat(BUCKET, "bad/video/two.mp4")[0] is None
    # a rerun submits the failed job again (it did not succeed), still failing
    before = submitted(emu)
    assert cli("run", write_manifest(tmp_path, emu.url, job)).code == 1
    assert submitted(emu) == before + 2  # each key once more: neither succeeded
