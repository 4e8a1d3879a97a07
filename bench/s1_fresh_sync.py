"""Scenario 1: fresh sync of many small files (5,000 of 1-16 KiB; quick: 200).

Baseline: the SDK's ``put_file`` in a loop with a fresh token per file. Target: SDK time /
kodo-jobs time >= 2.0 on this 2-core machine, where the emulator shares the cores (the table's
"emulator CPU" column is the other half of the CPU split).
"""

from __future__ import annotations

from pathlib import Path

from bench import kj, trees
from bench.emulator import BUCKET, EmulatorProcess
from bench.measure import ProcResult
from bench.scenario import BenchContext, Measurement, Part, Side, alternate
from bench.sides import against_emulator, expected_etags, kodo_jobs_argv, verify_bucket


def run(ctx: BenchContext) -> list[Part]:
    count = 200 if ctx.quick else 5000
    tree = trees.small_files(ctx.work / "trees" / f"sync-{count}", count, 1 * trees.KiB, 16 * trees.KiB, seed=1)
    expected = expected_etags(tree)

    def verify(emu: EmulatorProcess, _proc: ProcResult) -> str:
        return verify_bucket(emu, expected)

    def kj_once(index: int) -> Measurement:
        def argv(emu: EmulatorProcess, scratch: Path) -> list[str]:
            return kodo_jobs_argv(ctx, emu, scratch, {"name": "sync", "kind": "sync", "source": str(tree.root),
                                                      "bucket": BUCKET})
        return against_emulator(ctx, f"fresh-sync-kj-{index}", argv, verify)

    def sdk_once(index: int) -> Measurement:
        def argv(emu: EmulatorProcess, _scratch: Path) -> list[str]:
            return [ctx.python, "-m", "bench.baselines.sdk_sync", emu.url, BUCKET, str(tree.root)]
        return against_emulator(ctx, f"fresh-sync-sdk-{index}", argv, verify)

    part = alternate("fresh-sync", f"fresh sync of {count:,} files of 1-16 KiB", [
        Side("kodo-jobs", kj_once, lambda: kj.emulator_missing() or kj.missing(commands=("run",), kinds=("sync",))),
        Side("sdk", sdk_once, kj.emulator_missing),
    ], ctx.rounds)
    part.ratio_check("sdk / kodo-jobs", "sdk", "kodo-jobs", 2.0)
    return [part]
