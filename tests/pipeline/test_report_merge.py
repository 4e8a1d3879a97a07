"""``report merge`` (issue 17 part 4): the shards' reports as one run report with the report's
own schema; the inputs are untrusted files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.errors import UsageError
from kodo_jobs.pipeline.report_merge import MAX_REPORT_BYTES, merge_files, read_report
from tests.e2e.sync_helpers import cli
from tests.pipeline.sharded_run import FILES, N


def test_report_merge_makes_one_report_with_the_same_schema(sharded: Any) -> None:
    tmp, _ = sharded
    out = tmp / "all.json"
    res = cli("report", "merge", *(tmp / f"r{i}.json" for i in range(N)), "-o", out)
    assert res.code == 0, res.err
    merged = json.loads(out.read_text())
    parts = [json.loads((tmp / f"r{i}.json").read_text()) for i in range(N)]
    assert set(parts[0]) - {"clock"} <= set(merged)  # every key of a run report
    assert set(merged["jobs"][0]) == set(parts[0]["jobs"][0])
    job = merged["jobs"][0]
    assert job["counts"]["upload"]["done"] == len(FILES)
    assert job["payload_bytes"] == sum(p["jobs"][0]["payload_bytes"] for p in parts)
    assert merged["status"] == "ok" and merged["exit_code"] == 0
    assert merged["started"] == min(p["started"] for p in parts) and merged["ended"] == max(p["ended"] for p in parts)
    assert [r["run_id"] for r in merged["merged_from"]] == [p["run_id"] for p in parts]
    read_report(out)  # the merged report is itself a valid input


def _report(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "manifest": "m.yaml", "run_id": "r1", "started": 10.0, "ended": 20.0, "duration": 10.0, "status": "ok",
        "dry_run": False, "exit_code": 0, "message": "", "payload_bytes": 5, "wire_bytes": 5,
        "jobs": [{"name": "site", "kind": "sync", "status": "ok", "note": "", "duration": 1.0, "bytes_sent": 5,
                  "payload_bytes": 5, "wire_bytes": 5, "counts": {"upload": {"done": 1, "bytes": 5, "sent": 5}},
                  "failures_total": 0, "failures": []}],
    }
    doc.update(over)
    return doc


def _write(tmp_path: Path, name: str, doc: Any) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return p


def test_merge_takes_the_worst_status_and_sums(tmp_path: Path) -> None:
    failed_job = dict(_report()["jobs"][0], status="failed", failures_total=1,
                      counts={"upload": {"failed": 1}},
                      failures=[{"op": "upload", "key": "k", "code": 503, "reqid": "x", "message": "boom"}])
    a = _write(tmp_path, "a.json", _report())
    b = _write(tmp_path, "b.json", _report(run_id="r2", status="failed", exit_code=1, jobs=[failed_job]))
    merged = merge_files([a, b], tmp_path / "o.json").to_json()
    assert merged["status"] == "failed" and merged["exit_code"] == 1
    job = merged["jobs"][0]
    assert job["status"] == "failed" and job["failures_total"] == 1 and job["failures"][0]["key"] == "k"
    assert job["counts"]["upload"] == {"done": 1, "failed": 1, "bytes": 5, "sent": 5}


@pytest.mark.parametrize(("doc", "why"), [
    ("not json", "not a readable JSON report"),
    ("[1, 2]", "expected a JSON object"),
    ('{"manifest": "m"}', "not a run report of kodo-jobs"),
    (json.dumps(_report(started="NaN")), "not a run report"),
    (_report(started=float("nan")), "not a readable JSON report"),
    (_report(jobs=[{"name": "x", "kind": "sync", "status": "rm -rf", "counts": {}}]), "status"),
    (_report(jobs=[dict(_report()["jobs"][0], counts={"upload": {"done": -5}})]), "counts"),
    ("[" * 100_000 + "]" * 100_000, "not a readable JSON report"),
])
def test_untrusted_inputs_are_refused_with_exit_2(tmp_path: Path, doc: Any, why: str) -> None:
    good = _write(tmp_path, "good.json", _report(run_id="g"))
    bad = _write(tmp_path, "bad.json", doc)
    with pytest.raises(UsageError, match=why):
        merge_files([good, bad], tmp_path / "o.json")
    assert not (tmp_path / "o.json").exists()
    res = cli("report", "merge", good, bad, "-o", tmp_path / "o.json")
    assert res.code == 2 and "bad.json" in res.err


def test_reports_of_other_manifests_or_the_same_run_twice_are_refused(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.json", _report())
    with pytest.raises(UsageError, match="different manifests"):
        merge_files([a, _write(tmp_path, "b.json", _report(run_id="r2", manifest="other.yaml"))], tmp_path / "o.json")
    with pytest.raises(UsageError, match="twice"):
        merge_files([a, a], tmp_path / "o.json")


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(MAX_REPORT_BYTES + 1)
    with pytest.raises(UsageError, match="too big"):
        read_report(big)
