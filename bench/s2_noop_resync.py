"""Scenario 2: no-op resync of an unchanged tree (20,000 files; quick: 2,000).

The bucket already holds the tree. kodo-jobs runs once untimed (as the previous cron run
would, leaving its hash cache in the state file), then the measured run. Baseline: per file
``etag()`` + ``stat()``, upload if different. Limit: a bare scandir walk plus a raw listing.
Targets: SDK / kodo-jobs >= 30; kodo-jobs <= 1.5 x limit. Verified: the bucket is unchanged and
the emulator received no bytes during the measured run.
"""

from __future__ import annotations

from pathlib import Path

from bench import kj, trees
from bench.emulator import ACCESS_KEY, BUCKET, SECRET_KEY, EmulatorProcess
from bench.measure import ProcResult, run_measured
from bench.rawkodo import seed_tree
from bench.scenario import (
    BenchContext,
    Check,
    Measurement,
    Part,
    Side,
    VerificationError,
    alternate,
    require_ok,
)
from bench.sides import (
    ArgvFor,
    Setup,
    against_emulator,
    bytes_received,
    expected_etags,
    seeded_template,
    verify_bucket,
)


def run(ctx: BenchContext) -> list[Part]:
    count = 2000 if ctx.quick else 20_000
    tree = trees.small_files(ctx.work / "trees" / f"noop-{count}", count, 1 * trees.KiB, 16 * trees.KiB, seed=2)
    expected = expected_etags(tree)
    missing_emulator = kj.emulator_missing()
    template: list[Path] = []

    def ensure_template() -> Path:
        if not template:
            template.append(seeded_template(ctx, f"noop-{count}", lambda emu: seed_tree(
                emu.url, ACCESS_KEY, SECRET_KEY, BUCKET, tree.root, list(tree.keys))))
        return template[0]

    def measured(label: str, argv_for: ArgvFor, setup: Setup | None = None) -> Measurement:
        received: list[int] = []

        def before(emu: EmulatorProcess, scratch: Path) -> None:
            if setup is not None:
                setup(emu, scratch)
            received.append(bytes_received(emu))

        def verify(emu: EmulatorProcess, _proc: ProcResult) -> str:
            sent = bytes_received(emu) - received[0]
            if sent:
                raise VerificationError(f"a no-op resync sent {sent} bytes to the emulator")
            return verify_bucket(emu, expected)

        return against_emulator(ctx, label, argv_for, verify, template=ensure_template(), setup=before)

    def manifest(emu: EmulatorProcess, scratch: Path) -> Path:
        return kj.write_manifest(scratch / "bench.yaml", emu.url, [
            {"name": "sync", "kind": "sync", "source": str(tree.root), "bucket": BUCKET}])

    def kj_argv(emu: EmulatorProcess, scratch: Path) -> list[str]:
        return [ctx.python, "-m", "kodo_jobs", "run", str(manifest(emu, scratch)),
                "--state", str(scratch / "state.kjstate")]

    def kj_warm(emu: EmulatorProcess, scratch: Path) -> None:
        proc = run_measured(kj_argv(emu, scratch), cwd=ctx.repo, env=ctx.side_env(scratch / "tmp"),
                            timeout_s=ctx.timeout_s, log_dir=scratch, label="warmup")
        require_ok(proc, "kodo-jobs warm-up run")

    sides = [
        Side("kodo-jobs", lambda i: measured(f"noop-kj-{i}", kj_argv, kj_warm),
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
