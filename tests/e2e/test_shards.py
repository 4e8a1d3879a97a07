"""``run --shard I/N``: N shards started at once (like GNU parallel or a Kubernetes Indexed Job)
together do exactly the work of one run: every key uploaded once (the emulator counts the
upload requests), deletes split the same way, each shard with its own state file and lock."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from kodo_jobs.pipeline.shard import in_shard
from tests.e2e.sync_helpers import (
    assert_mirrored,
    bucket_objects,
    cli,
    make_tree,
    serve,
    sync_job,
    write_manifest,
)

FILES = 4000  # the size: four shards of a 4,000-file sync
N = 4


def _run_shards_in_parallel(manifest: Path, tmp: Path, tag: str) -> list[dict[str, object]]:
    procs = [subprocess.Popen([sys.executable, "-m", "kodo_jobs", "run", str(manifest), "--shard", f"{i}/{N}",
                               "--report", str(tmp / f"{tag}-{i}.json")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(N)]
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, out + err
    return [json.loads((tmp / f"{tag}-{i}.json").read_text()) for i in range(N)]


def _done(report: dict[str, object], op: str) -> int:
    job = report["jobs"][0]  # type: ignore[index]
    return int(job["counts"].get(op, {}).get("done", 0))  # type: ignore[index]


def test_four_parallel_shards_equal_one_run(tmp_path: Path) -> None:
    rng = random.Random(11)
    files = {f"d{i % 9}/f{i:05d}.txt": rng.randbytes(rng.randint(1, 300)) for i in range(FILES)}
    make_tree(tmp_path / "src", files)
    with serve(tmp_path / "emu") as emu:
        m = write_manifest(tmp_path, emu.url, sync_job(delete=True))
        reports = _run_shards_in_parallel(m, tmp_path, "up")
        per_shard = [_done(r, "upload") for r in reports]
        assert sum(per_shard) == FILES and all(0 < d < FILES for d in per_shard), per_shard
        # each shard did exactly its keys: the split is the stable hash, the same everywhere
        for i, done in enumerate(per_shard):
            assert done == sum(1 for k in files if in_shard(k, (i, N)))
        assert emu.stats()["requests"].get("up.form_upload", 0) == FILES  # no key uploaded twice
        assert_mirrored(emu.url, tmp_path / "src")
        for i in range(N):
            assert (tmp_path / f"m.kjstate.shard-{i}-of-{N}").exists()
        assert not (tmp_path / "m.kjstate").exists()

        # an unsharded run afterwards has nothing to do: the shards did all of it
        plan = cli("plan", m, "--exit-code")
        assert plan.code == 0, plan.out

        # deletes are sharded the same way: each extra object deleted by exactly one shard
        gone = sorted(files)[::10]
        for rel in gone:
            (tmp_path / "src" / rel).unlink()
        reports = _run_shards_in_parallel(m, tmp_path, "del")
        assert sum(_done(r, "delete") for r in reports) == len(gone)
        assert all(not r["jobs"][0].get("failures") for r in reports)  # type: ignore[index]
        assert set(bucket_objects(emu.url)) == set(files) - set(gone)


def test_bad_shard_spec_is_a_usage_error(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        (tmp_path / "src").mkdir()
        m = write_manifest(tmp_path, emu.url, sync_job())
        for bad in ("4/4", "-1/4", "5/4", "1/0", "x", "1/2/3"):
            assert cli("run", m, "--shard", bad).code == 2, bad
