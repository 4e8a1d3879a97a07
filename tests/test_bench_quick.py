"""Smoke test of the benchmarks: ``python -m bench --quick`` completes and verifies every scenario.

Timings are never asserted (this machine is shared and noisy). What is asserted: the bench
exits 0, every expected scenario part is present, every baseline side ran and verified its
result (objects listed with the right etags, buckets emptied, etags equal to the SDK's...),
and every kodo-jobs side did the same. Every piece of kodo-jobs has landed, so a side the bench
reports as "not available yet" is a failure here, never a skip.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
PARTS = ("fresh-sync", "noop-resync", "large-file", "batch-delete", "etag-big", "etag-small", "plan-memory",
         "flaky-large", "plan-500k", "plan-include", "noop-1m", "download-1m", "batch-select-1m")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("bench")
    out = work / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--work", str(work / "w"), "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=280,
    )
    assert out.exists(), f"bench wrote no JSON (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    doc: dict[str, Any] = json.loads(out.read_text())
    doc["_exit"] = proc.returncode
    doc["_stderr"] = proc.stderr[-4000:]
    return doc


def _part(doc: dict[str, Any], name: str) -> dict[str, Any]:
    parts = {p["name"]: p for p in doc["parts"]}
    assert name in parts, f"scenario part {name!r} missing from the bench output: {sorted(parts)}"
    part: dict[str, Any] = parts[name]
    return part


@pytest.mark.timeout(300)
def test_quick_bench_exits_cleanly(quick_run: dict[str, Any]) -> None:
    assert quick_run["quick"] is True and quick_run["rounds"] == 1
    assert quick_run["failed"] == [], quick_run["_stderr"]
    assert quick_run["_exit"] == 0, quick_run["_stderr"]
    assert sorted(p["name"] for p in quick_run["parts"]) == sorted(PARTS)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", PARTS)
def test_baseline_sides_completed_and_verified(quick_run: dict[str, Any], name: str) -> None:
    part = _part(quick_run, name)
    baselines = [s for s in part["sides"] if s["name"] != "kodo-jobs"]
    assert baselines, "every scenario has at least one baseline side"
    for side in baselines:
        assert side["status"] == "ok", f"{name}/{side['name']}: {side['status']}: {side['message']}"
        assert len(side["rounds"]) == 1
        assert side["rounds"][0]["detail"], "a verified side says what it verified"
        assert side["median_s"] is not None and side["median_s"] > 0


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", PARTS)
def test_kodo_jobs_side_completed_and_verified(quick_run: dict[str, Any], name: str) -> None:
    side = next(s for s in _part(quick_run, name)["sides"] if s["name"] == "kodo-jobs")
    assert side["status"] == "ok", f"{name}/kodo-jobs {side['status']}: {side['message']}"
    assert len(side["rounds"]) == 1 and side["rounds"][0]["detail"]
    assert side["rounds"][0]["peak_rss_bytes"] > 0 and side["rounds"][0]["cpu_s"] > 0
