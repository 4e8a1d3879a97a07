"""Saved plans of batch, cdn and pfop jobs are checked against the job (issue 15 item 1).

Before, only sync actions were re-derived: an edited plan could turn a reviewed ``stat`` into a
``delete``, send a ``move`` to another bucket, give a pfop other fops, or make a CDN report write
a file anywhere. Each edit below is refused with exit 2 and nothing runs; the unedited plan of
each kind still applies.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kodo_jobs.kodo.client import KodoClient
from tests.e2e.sync_helpers import AK, BUCKET, SK, bucket_objects, cli, serve, write_manifest
from tests.e2e.test_saved_plan import _edit_actions

OTHER = "other-bucket"


def _seed(url: str, *keys: str) -> None:
    with KodoClient.for_endpoint(url, AK, SK) as c:
        for key in keys:
            c.upload.upload_bytes(BUCKET, key, f"body of {key}".encode())


def _saved(tmp_path: Path, url: str, job: dict[str, Any]) -> tuple[Path, Path]:
    m = write_manifest(tmp_path, url, job)
    plan_file = tmp_path / "p.kjplan"
    made = cli("plan", m, "-o", plan_file)
    assert made.code == 0, made.err
    return m, plan_file


def _edit(key: str, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def edit(d: dict[str, Any]) -> dict[str, Any]:
        if d["key"] == key:
            change(d)
        return d
    return edit


def test_stat_turned_into_delete_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        _seed(emu.url, "logs/a.txt", "logs/b.txt")
        m, plan_file = _saved(tmp_path, emu.url, {"name": "inv", "kind": "batch", "bucket": BUCKET,
                                                  "select": {"prefix": "logs/"}, "op": {"stat": {}}})
        _edit_actions(plan_file, _edit("logs/a.txt", lambda d: d.update(op="delete", phase=1)))
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "the job's op is 'stat'" in res.err, res.err
        assert set(bucket_objects(emu.url)) == {"logs/a.txt", "logs/b.txt"}


def test_move_sent_to_another_bucket_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu", buckets=(BUCKET, OTHER)) as emu:
        _seed(emu.url, "old/a.txt")
        m, plan_file = _saved(tmp_path, emu.url, {
            "name": "mv", "kind": "batch", "bucket": BUCKET, "select": {"prefix": "old/"},
            "op": {"move": {"dest_prefix": "new/", "strip_prefix": "old/"}}})
        _edit_actions(plan_file, _edit("old/a.txt", lambda d: d["params"].update(dest_bucket=OTHER)))
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "dest_bucket" in res.err, res.err
        assert set(bucket_objects(emu.url)) == {"old/a.txt"}


def test_pfop_with_other_fops_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        _seed(emu.url, "v/a.mp4")
        m, plan_file = _saved(tmp_path, emu.url, {
            "name": "thumbs", "kind": "pfop", "bucket": BUCKET, "keys": ["v/a.mp4"],
            "fops": ["avinfo"]})
        _edit_actions(plan_file, _edit("v/a.mp4", lambda d: d["params"].update(fops="avthumb/mp4|saveas/eA==")))
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "fops" in res.err, res.err
        assert emu.stats()["requests"].get("api.pfop", 0) == 0


def test_cdn_report_written_elsewhere_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        m, plan_file = _saved(tmp_path, emu.url, {
            "name": "traffic", "kind": "cdn",
            "report": {"domains": ["cdn.example.com"], "start": "2026-11-01", "end": "2026-11-02",
                       "out": "report.csv"}})
        target = tmp_path / "elsewhere" / "evil.csv"
        _edit_actions(plan_file, lambda d: {**d, "key": str(target)} if d["op"] == "report" else d)
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "a report is written to" in res.err, res.err
        assert not target.exists() and not (tmp_path / "report.csv").exists()


def test_unedited_plans_of_these_kinds_still_apply(tmp_path: Path) -> None:
    with serve(tmp_path / "emu", buckets=(BUCKET, OTHER)) as emu:
        _seed(emu.url, "old/a.txt")
        m, plan_file = _saved(tmp_path, emu.url, {
            "name": "mv", "kind": "batch", "bucket": BUCKET, "select": {"prefix": "old/"},
            "op": {"move": {"bucket": OTHER, "dest_prefix": "new/", "strip_prefix": "old/"}}})
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 0, res.out + res.err
        assert bucket_objects(emu.url) == {}
        assert set(bucket_objects(emu.url, OTHER)) == {"new/a.txt"}
