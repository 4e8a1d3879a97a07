"""Scenario 2: no-op resync of an unchanged tree (20,000 files; quick: 2,000).

The bucket already holds the tree. kodo-jobs runs once untimed (as the previous cron run
would, leaving its hash cache in the state file), then the measured run. Baseline: per file
``etag()`` + ``stat()``, upload if different. Limit: a bare scandir walk plus a raw listing.
Targets: SDK / kodo-jobs >= 30; kodo-jobs <= 1.5 x limit. Verified: the bucket is unchanged and
the emulator received no bytes during the measured run.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bench import kj, trees
from bench.emulator import ACCESS_KEY, BUCKET, SECRET_KEY, EmulatorProcess
from bench.rawkodo import seed_tree
from bench.scenario import (
    BenchContext,
    Check,
    Measurement,
    Part,
    Side,
    alternate,
)
from bench.sides import (
    ArgvFor,
    Setup,
    expected_etags,
    kodo_jobs_argv,
    seeded_template,
    sends_nothing,
    verify_bucket,
    warm_up,
)


def run(ctx: BenchContext) -> list[Part]:
    count = 2000 if ctx.quick else 20_000
    tree = trees.small_files(ctx.work / "trees" / f"noop-{count}", count, 1 * trees.KiB, 16 * trees.KiB, seed=2)
    expected = expected_etags(tree)
    missing_emulator = kj.emulator_missing()
    ensure_template = cache(lambda: seeded_template(ctx, f"noop-{count}", lambda emu: seed_tree(
        emu.url, ACCESS_KEY, SECRET_KEY, BUCKET, tree.root, list(tree.keys))))

    def measured(label: str, argv_for: ArgvFor, setup: Setup | None = None) -> Measurement:
        return sends_nothing(ctx, label, argv_for, template=ensure_template(),
                             detail=lambda emu: verify_bucket(emu, expected), setup=setup)

    def kj_argv(emu: EmulatorProcess, scratch: Path) -> list[str]:
        return kodo_jobs_argv(ctx, emu, scratch, {"name": "sync", "kind": "sync", "source": str(tree.root),
                                                  "bucket": BUCKET})

    sides = [
        Side("kodo-jobs", lambda i: measured(f"noop-kj-{i}", kj_argv, warm_up(ctx, kj_argv)),
             lambda: missing_emulator or kj.missing(commands=("run",), kinds=("sync",))),
        Side("sdk", lambda i: measured(f"noop-sdk-{i}", lambda emu, _s: [
            ctx.python, "-m", "bench.baselines.sdk_resync", emu.url, BUCKET, str(tree.root)]),
            lambda: missing_emulator),
        Side("limit", lambda i: measured(f"noop-limit-{i}", lambda emu, _s: [
            ctx.python, "-m", "bench.baselines.limit_walk_list", emu.url, BUCKET, str(tree.root)]),
            lambda: missing_emulator),
    ]
    part = alternate("noop-resync", f"no-op resync of {count:,} unchanged files", sides, ctx.rounds)
    part.ratio_check("sdk / kodo-jobs", "sdk", "kodo-jobs", 30.0)
    kj_med, limit_med = part.median("kodo-jobs"), part.median("limit")
    part.checks.append(Check("kodo-jobs / limit (walk + raw list)",
                             kj_med / limit_med if kj_med is not None and limit_med else None,
                             1.5, higher_is_better=False))
    return [part]
