"""Scenario 4: delete many keys (20,000; quick: 1,000).

The bucket is seeded with one upload and batch copies. Baseline: ``BucketManager.delete`` per
key. kodo-jobs: a ``kind: batch`` job with ``op: {delete: {}}`` over the prefix. Target: SDK /
kodo-jobs >= 20. Verified: nothing is left under the prefix.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bench import kj
from bench.emulator import ACCESS_KEY, BUCKET, SECRET_KEY, EmulatorProcess
from bench.measure import ProcResult
from bench.rawkodo import seed_copies
from bench.scenario import BenchContext, Measurement, Part, Side, alternate
from bench.sides import against_emulator, kodo_jobs_argv, seeded_template, verify_empty

PREFIX = "del/"


def run(ctx: BenchContext) -> list[Part]:
    count = 1000 if ctx.quick else 20_000
    keys = [f"{PREFIX}{i // 1000:03d}/k{i:06d}" for i in range(count)]
    keys_file = ctx.work / "trees" / f"delete-keys-{count}.txt"
    keys_file.parent.mkdir(parents=True, exist_ok=True)
    keys_file.write_text("\n".join(keys) + "\n")
    missing_emulator = kj.emulator_missing()
    ensure_template = cache(lambda: seeded_template(ctx, f"delete-{count}", lambda emu: seed_copies(
        emu.url, ACCESS_KEY, SECRET_KEY, BUCKET, keys)))

    def verify(emu: EmulatorProcess, _proc: ProcResult) -> str:
        return verify_empty(emu, PREFIX) + f" ({count} keys deleted)"

    def kj_once(index: int) -> Measurement:
        def argv(emu: EmulatorProcess, scratch: Path) -> list[str]:
            return kodo_jobs_argv(ctx, emu, scratch, {"name": "tidy", "kind": "batch", "bucket": BUCKET,
                                                      "select": {"prefix": PREFIX}, "op": {"delete": {}}})
        return against_emulator(ctx, f"delete-kj-{index}", argv, verify, template=ensure_template())

    def sdk_once(index: int) -> Measurement:
        def argv(emu: EmulatorProcess, _scratch: Path) -> list[str]:
            return [ctx.python, "-m", "bench.baselines.sdk_delete", emu.url, BUCKET, str(keys_file)]
        return against_emulator(ctx, f"delete-sdk-{index}", argv, verify, template=ensure_template())

    part = alternate("batch-delete", f"delete {count:,} keys", [
        Side("kodo-jobs", kj_once, lambda: missing_emulator or kj.missing(commands=("run",), kinds=("batch",))),
        Side("sdk", sdk_once, lambda: missing_emulator),
    ], ctx.rounds)
    part.ratio_check("sdk / kodo-jobs", "sdk", "kodo-jobs", 20.0)
    return [part]
