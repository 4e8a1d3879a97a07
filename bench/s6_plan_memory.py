"""Scenario 6: planning memory: ``kodo-jobs plan`` of a 200,000-file tree (quick: 5,000)
against a bucket already holding the same 200,000 objects.

No state file is given to the plan (a cold plan: nothing cached). Targets: kodo-jobs peak RSS
under 300 MB, and its time within 2 x of the limit (bare scandir walk + raw listing).
Verified: ``plan --exit-code`` exits 0, i.e. the plan found nothing to change.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bench import kj, trees
from bench.emulator import ACCESS_KEY, BUCKET, SECRET_KEY, EmulatorProcess
from bench.measure import ProcResult
from bench.rawkodo import seed_tree
from bench.scenario import (
    BenchContext,
    Check,
    Measurement,
    Part,
    Side,
    VerificationError,
    alternate,
    last_json_line,
)
from bench.sides import against_emulator, kodo_jobs_argv, seeded_template


def run(ctx: BenchContext) -> list[Part]:
    count = 5000 if ctx.quick else 200_000
    tree = trees.small_files(ctx.work / "trees" / f"plan-{count}", count, 64, 1 * trees.KiB, seed=6)
    missing_emulator = kj.emulator_missing()
    ensure_template = cache(lambda: seeded_template(ctx, f"plan-{count}", lambda emu: seed_tree(
        emu.url, ACCESS_KEY, SECRET_KEY, BUCKET, tree.root, list(tree.keys))))

    def kj_verify(_emu: EmulatorProcess, proc: ProcResult) -> str:
        # `plan --exit-code` exits 4 when there are changes: require_ok already demanded 0
        return f"no changes planned for {count:,} files"

    def kj_once(index: int) -> Measurement:
        def argv(emu: EmulatorProcess, scratch: Path) -> list[str]:
            return kodo_jobs_argv(ctx, emu, scratch, {"name": "sync", "kind": "sync", "source": str(tree.root),
                                                      "bucket": BUCKET}, "plan", "--exit-code")
        return against_emulator(ctx, f"plan-kj-{index}", argv, kj_verify, template=ensure_template())

    def limit_verify(_emu: EmulatorProcess, proc: ProcResult) -> str:
        doc = last_json_line(proc)
        if doc["files"] != count or doc["listed"] != count:
            raise VerificationError(f"limit walk saw {doc['files']} files and listed {doc['listed']}, not {count}")
        return f"{count:,} files walked and listed"

    def limit_once(index: int) -> Measurement:
        def argv(emu: EmulatorProcess, _scratch: Path) -> list[str]:
            return [ctx.python, "-m", "bench.baselines.limit_walk_list", emu.url, BUCKET, str(tree.root)]
        return against_emulator(ctx, f"plan-limit-{index}", argv, limit_verify, template=ensure_template())

    part = alternate("plan-memory", f"plan of {count:,} files against {count:,} objects", [
        Side("kodo-jobs", kj_once, lambda: missing_emulator or kj.missing(commands=("plan",), kinds=("sync",))),
        Side("limit", limit_once, lambda: missing_emulator),
    ], ctx.rounds)
    kj_side = part.side("kodo-jobs")
    peak = max((m.peak_rss_bytes for m in kj_side.rounds), default=None) if kj_side.status == "ok" else None
    part.checks.append(Check("kodo-jobs peak RSS (MB)", peak / 1e6 if peak else None, 300,
                             higher_is_better=False, unit=" MB"))
    kj_med, limit_med = part.median("kodo-jobs"), part.median("limit")
    part.checks.append(Check("kodo-jobs / limit (walk + raw list)",
                             kj_med / limit_med if kj_med is not None and limit_med else None,
                             2.0, higher_is_better=False))
    return [part]
