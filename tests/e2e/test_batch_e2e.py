"""kind: batch end to end: the CLI (in-process) against a real emulator; results checked with the
official SDK (stat/list), not only with our client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.emulator.store import object_info as emulator_object_info
from kodo_jobs.kodo.client import KodoClient
from tests.e2e.sync_helpers import AK, BUCKET, SK, _sdk, bucket_objects, cli, serve, write_manifest

OTHER = "other-bucket"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[RunningEmulator]:
    with serve(tmp_path / "emulator-data", buckets=(BUCKET, OTHER)) as running:
        yield running


def seed(emu: RunningEmulator, keys: list[str], body: bytes = b"hello kodo") -> None:
    """One upload, then rs batch copies: 1,500 objects in a few requests."""
    with KodoClient.for_endpoint(emu.url, AK, SK) as client:
        client.upload.upload_bytes(BUCKET, "seed/source", body)
        ops = [client.rs.ops.copy(BUCKET, "seed/source", BUCKET, k, force=True) for k in keys]
        for start in range(0, len(ops), 1000):
            assert all(r.ok for r in client.rs.batch(ops[start:start + 1000]))


def batch(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "kind": "batch", "bucket": BUCKET, **fields}


def sdk_stat(emu: RunningEmulator, key: str, bucket: str = BUCKET) -> dict[str, Any] | None:
    ret, info = _sdk(emu.url).stat(bucket, key)
    if info.status_code == 612:
        return None
    assert ret is not None, info
    return dict(ret)


def test_delete_1500_selected_keys_in_two_batch_requests(emu: RunningEmulator, tmp_path: Path) -> None:
    seed(emu, [f"t/{i:04d}" for i in range(1500)] + ["keep/a", "keep/b"])
    manifest = write_manifest(tmp_path, emu.url, batch("purge", select={"prefix": "t/"}, op={"delete": {}}))
    plan = cli("plan", manifest, "--json")
    summary = plan.json()["summary"]
    assert summary["delete"]["count"] == 1500  # the destructive count is in the plan
    before = emu.stats()["requests"].get("rs.batch", 0)
    res = cli("run", manifest)
    assert res.code == 0, res.err
    assert emu.stats()["requests"]["rs.batch"] - before == 2  # 1000 + 500: at most batch_size per request
    assert sorted(bucket_objects(emu.url)) == ["keep/a", "keep/b", "seed/source"]


def test_batch_size_is_configurable(emu: RunningEmulator, tmp_path: Path) -> None:
    seed(emu, [f"t/{i:04d}" for i in range(1500)])
    manifest = write_manifest(tmp_path, emu.url, batch("cold", select={"prefix": "t/"}, op={"chtype": {"type": 1}},
                                                         batch_size=250))
    before = emu.stats()["requests"].get("rs.batch", 0)
    assert cli("run", manifest).code == 0
    assert emu.stats()["requests"]["rs.batch"] - before == 6
    objects = bucket_objects(emu.url, prefix="t/")
    assert len(objects) == 1500 and {o["type"] for o in objects.values()} == {1}


def test_every_op_on_keys(emu: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulator_object_info, "RESTORE_SECONDS", 3600.0)  # the restore stays in progress: status 1
    seed(emu, ["m/a", "c/a", "r/a", "ty/a", "gm/a", "ex/a", "st/a", "ar/a", "lc/a", "s/a"])
    jobs = [
        batch("mv", keys=["m/a"], op={"move": {"bucket": OTHER, "dest_prefix": "moved/", "strip_prefix": "m/"}}),
        batch("cp", keys=["c/a"], op={"copy": {"dest_prefix": "copied/"}}),
        batch("rn", keys=["r/a"], op={"rename": {"to": "r/b"}}),
        batch("ty", keys=["ty/a"], op={"chtype": {"type": "ia"}}),
        batch("gm", keys=["gm/a"], op={"chgm": {"mime": "application/x-test", "metadata": {"color": "blue"}}}),
        batch("ex", keys=["ex/a"], op={"deleteAfterDays": {"days": 3}}),
        batch("st", keys=["st/a"], op={"chstatus": {"status": 1}}),
        batch("to-archive", keys=["ar/a"], op={"chtype": {"type": "archive"}}),
        batch("thaw", keys=["ar/a"], op={"restoreAr": {"days": 2}}, needs=["to-archive"]),
        batch("lc", keys=["lc/a"], op={"lifecycle": {"to_ia_after_days": 10, "delete_after_days": 30}}),
        batch("inventory", keys=["s/a"], op={"stat": {}}),
    ]
    manifest = write_manifest(tmp_path, emu.url, *jobs)
    report = tmp_path / "report.json"
    res = cli("run", manifest, "--report", report)
    assert res.code == 0, res.out + res.err
    assert sdk_stat(emu, "m/a") is None and sdk_stat(emu, "moved/a", OTHER) is not None
    assert sdk_stat(emu, "c/a") is not None and sdk_stat(emu, "copied/c/a") is not None
    assert sdk_stat(emu, "r/a") is None and sdk_stat(emu, "r/b") is not None
    assert sdk_stat(emu, "ty/a")["type"] == 1  # type: ignore[index]
    gm = sdk_stat(emu, "gm/a")
    assert gm is not None and gm["mimeType"] == "application/x-test"
    assert "blue" in json.dumps(gm.get("x-qn-meta", {}))
    assert "expiration" in sdk_stat(emu, "ex/a")  # type: ignore[operator]
    assert sdk_stat(emu, "st/a")["status"] == 1  # type: ignore[index]
    ar = sdk_stat(emu, "ar/a")
    assert ar is not None and ar["type"] == 2 and ar.get("restoreStatus") == 1
    lc = sdk_stat(emu, "lc/a")
    assert lc is not None and "expiration" in lc and "transitionToIA" in lc
    doc = json.loads(report.read_text())
    text = json.dumps(doc)
    assert "hash" in text  # the stat result is reported


def test_keys_file_pairs_with_a_partial_failure(emu: RunningEmulator, tmp_path: Path) -> None:
    seed(emu, ["in/1", "in/2", "in/3", "exists"])
    keys = tmp_path / "moves.tsv"
    keys.write_text("# moves\nin/1\tout/1\n\nin/missing\tout/x\nin/2\texists\nin/3\n", encoding="utf-8")
    manifest = write_manifest(tmp_path, emu.url, batch(
        "moves", keys_file="moves.tsv", op={"copy": {"dest_prefix": "out/", "strip_prefix": "in/"}}))
    report = tmp_path / "r.json"
    res = cli("run", manifest, "--report", report)
    assert res.code == 1
    objects = bucket_objects(emu.url)
    assert {"out/1", "out/3"} <= set(objects) and "out/x" not in objects
    assert objects["exists"]["hash"] == objects["in/2"]["hash"]  # same seed body; not overwritten (no force)
    failures = {(f["key"], f["code"]) for job in json.loads(report.read_text())["jobs"] for f in job["failures"]}
    assert failures == {("in/missing", 612), ("in/2", 614)}


def test_copy_force_overwrites(emu: RunningEmulator, tmp_path: Path) -> None:
    seed(emu, ["a"])
    with KodoClient.for_endpoint(emu.url, AK, SK) as client:
        client.upload.upload_bytes(BUCKET, "b", b"different")
    manifest = write_manifest(tmp_path, emu.url, batch("cp", keys=["a"], op={"rename": {"to": "b", "force": True}}))
    assert cli("run", manifest).code == 0
    objects = bucket_objects(emu.url)
    assert "a" not in objects and objects["b"]["fsize"] == len(b"hello kodo")


def test_max_ops_trips_and_can_be_overridden(emu: RunningEmulator, tmp_path: Path) -> None:
    seed(emu, [f"logs/{i:02d}.log" for i in range(20)] + ["logs/keep.txt"])
    job = batch("purge-logs", select={"prefix": "logs/", "suffix": ".log"}, op={"delete": {}}, max_ops=5)
    manifest = write_manifest(tmp_path, emu.url, job)
    res = cli("run", manifest)
    assert res.code == 1
    assert "exceed max_ops" in res.out + res.err and "raise max_ops" in res.out + res.err
    assert len(bucket_objects(emu.url, prefix="logs/")) == 21  # nothing deleted
    manifest = write_manifest(tmp_path, emu.url, {**job, "max_ops": "100%"})
    assert cli("run", manifest).code == 0
    assert sorted(bucket_objects(emu.url, prefix="logs/")) == ["logs/keep.txt"]
