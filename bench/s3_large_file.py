"""Scenario 3: one large file (512 MiB; quick: 16 MiB).

Baseline: ``put_file_v2`` with 4 MiB parts (one part at a time). Targets: SDK / kodo-jobs
>= 1.5 (parallel parts) and kodo-jobs' peak RSS under 150 MB (no extra copies of the data).
"""

from __future__ import annotations

from pathlib import Path

from bench import kj, trees
from bench.emulator import BUCKET, EmulatorProcess
from bench.measure import ProcResult
from bench.scenario import BenchContext, Check, Measurement, Part, Side, alternate
from bench.sides import against_emulator, expected_etags, kodo_jobs_argv, verify_bucket


def run(ctx: BenchContext) -> list[Part]:
    size = (16 if ctx.quick else 512) * trees.MiB
    tree = trees.large_file(ctx.work / "trees" / f"large-{size}", size, seed=3)
    expected = expected_etags(tree)
    key = tree.keys[0]

    def verify(emu: EmulatorProcess, _proc: ProcResult) -> str:
        return verify_bucket(emu, expected)

    def kj_once(index: int) -> Measurement:
        def argv(emu: EmulatorProcess, scratch: Path) -> list[str]:
            return kodo_jobs_argv(ctx, emu, scratch, {"name": "large", "kind": "sync", "source": str(tree.root),
                                                      "bucket": BUCKET})
        return against_emulator(ctx, f"large-kj-{index}", argv, verify)

    def sdk_once(index: int) -> Measurement:
        def argv(emu: EmulatorProcess, _scratch: Path) -> list[str]:
            return [ctx.python, "-m", "bench.baselines.sdk_large", emu.url, BUCKET, str(tree.root / key), key]
        return against_emulator(ctx, f"large-sdk-{index}", argv, verify)

    part = alternate("large-file", f"one {size // trees.MiB} MiB file", [
        Side("kodo-jobs", kj_once, lambda: kj.emulator_missing() or kj.missing(commands=("run",), kinds=("sync",))),
        Side("sdk", sdk_once, kj.emulator_missing),
    ], ctx.rounds)
    part.ratio_check("sdk / kodo-jobs", "sdk", "kodo-jobs", 1.5)
    kj_side = part.side("kodo-jobs")
    peak = max((m.peak_rss_bytes for m in kj_side.rounds), default=None) if kj_side.status == "ok" else None
    part.checks.append(Check("kodo-jobs peak RSS (MB)", peak / 1e6 if peak else None, 150, higher_is_better=False,
                             unit=" MB"))
    return [part]
