"""Scenarios 8-10 (issue 20): planning cost that grows like the walk, filters that prune.

* ``plan-500k``: ``kodo-jobs plan`` (cold: no state) of 500,000 one-byte files (quick: 2,000)
  into an empty bucket, against a bare scandir + stat walk of the same tree in the same run.
  Targets: <= 3 x the walk, peak RSS < 150 MB.
* ``plan-include``: the same tree with ``include: ["a00*/**", "a01*/**"]`` (a fifth of the
  files), against a bare walk of just ``a00/`` and ``a01/``. Target: <= 3 x that walk (the
  other folders are never entered).
* ``noop-1m``: a no-op resync (``kodo-jobs run`` after an untimed first run leaves its hash
  cache warm) of 1,000,000 files (quick: 2,000) against the same 1,000,000 objects, seeded
  straight into the emulator's database (:mod:`bench.seed_db`). Limit: walk + raw listing.
  Targets: <= 2 x the limit, peak RSS < 150 MB. Verified: the emulator received no bytes.

Trees: :func:`bench.trees.tiny_files` (their creation time and the seeding time are in
docs/bench.md).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from bench import kj, trees
from bench.emulator import BUCKET, EmulatorProcess
from bench.measure import ProcResult
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
from bench.seed_db import seed_objects
from bench.sides import (
    ArgvFor,
    Setup,
    against_emulator,
    kodo_jobs_argv,
    sends_nothing,
    warm_up,
)

INCLUDE = ["a00*/**", "a01*/**"]
RSS_MB = 150


def sizes(quick: bool) -> tuple[int, int, int]:
    """(files of the plan tree, files of the no-op tree, files per top folder)."""
    return (2000, 2000, 200) if quick else (500_000, 1_000_000, 50_000)


def tiny_tree(ctx: BenchContext, count: int) -> trees.Tree:
    per_top = sizes(ctx.quick)[2]
    return trees.tiny_files(ctx.work / "trees" / f"tiny-{count}", count, per_top=per_top)


def db_template(ctx: BenchContext, count: int) -> Path:
    """An emulator data folder holding the objects of the ``tiny-<count>`` tree (seeded once
    per work folder; a marker beside it records what it holds)."""
    per_top = sizes(ctx.quick)[2]
    base = ctx.work / "templates" / f"tiny-{count}"
    marker = base / "complete.json"
    params = {"count": count, "per_top": per_top, "bucket": BUCKET}
    try:
        if json.loads(marker.read_text()) == params:
            return base / "data"
    except (OSError, ValueError):
        pass
    if base.exists():
        import shutil

        shutil.rmtree(base)
    base.mkdir(parents=True)
    seconds = seed_objects(base / "data", BUCKET, count, lambda i: trees.tiny_key(i, per_top, 100), b"x")
    marker.write_text(json.dumps(params))
    print(f"  seeded {count:,} objects into the emulator's database in {seconds:.1f}s", flush=True)
    return base / "data"


def _rss_check(part: Part, label: str = "kodo-jobs peak RSS (MB)") -> None:
    side = part.side("kodo-jobs")
    peak = max((m.peak_rss_bytes for m in side.rounds), default=None) if side.status == "ok" else None
    part.checks.append(Check(label, peak / 1e6 if peak else None, RSS_MB, higher_is_better=False, unit=" MB"))


def _ratio_check(part: Part, label: str, limit: float) -> None:
    kj_med, limit_med = part.median("kodo-jobs"), part.median("limit")
    part.checks.append(Check(label, kj_med / limit_med if kj_med is not None and limit_med else None,
                             limit, higher_is_better=False))


def _plan_part(ctx: BenchContext, name: str, title: str, include: list[str] | None, target: float) -> Part:
    count, _, per_top = sizes(ctx.quick)
    tree = tiny_tree(ctx, count)
    expected = 2 * per_top if include else count
    missing_emulator = kj.emulator_missing()

    def kj_verify(_emu: EmulatorProcess, proc: ProcResult) -> str:
        if f"\n{expected} change(s); upload {expected}" not in proc.stdout:
            raise VerificationError(f"plan did not find {expected} uploads: {proc.stdout[-300:]}")
        return f"{expected:,} uploads planned"

    def kj_once(index: int) -> Measurement:
        def argv(emu: EmulatorProcess, scratch: Path) -> list[str]:
            job: dict[str, object] = {"name": "sync", "kind": "sync", "source": str(tree.root), "bucket": BUCKET}
            if include:
                job["include"] = include
            return kodo_jobs_argv(ctx, emu, scratch, job, "plan")
        return against_emulator(ctx, f"{name}-kj-{index}", argv, kj_verify)

    def limit_verify(_emu: EmulatorProcess, proc: ProcResult) -> str:
        files = last_json_line(proc)["files"]
        if files != expected:
            raise VerificationError(f"the bare walk saw {files} files, not {expected}")
        return f"{files:,} files walked"

    def limit_once(index: int) -> Measurement:
        subs = ["a00", "a01"] if include else []
        return against_emulator(ctx, f"{name}-limit-{index}", lambda _e, _s: [
            ctx.python, "-m", "bench.baselines.bare_walk", str(tree.root), *subs], limit_verify)

    part = alternate(name, title.format(count=count, expected=expected), [
        Side("kodo-jobs", kj_once, lambda: missing_emulator or kj.missing(commands=("plan",), kinds=("sync",))),
        Side("limit", limit_once, lambda: missing_emulator),
    ], ctx.rounds)
    _rss_check(part)
    _ratio_check(part, "kodo-jobs / limit (bare walk)", target)
    return part


def run_plan(ctx: BenchContext) -> list[Part]:
    return [_plan_part(ctx, "plan-500k", "cold plan of {count:,} one-byte files into an empty bucket", None, 3.0)]


def run_include(ctx: BenchContext) -> list[Part]:
    return [_plan_part(ctx, "plan-include", "plan of {count:,} files, include selects {expected:,}", INCLUDE, 3.0)]


def run_noop(ctx: BenchContext) -> list[Part]:
    count = sizes(ctx.quick)[1]
    tree = tiny_tree(ctx, count)
    missing_emulator = kj.emulator_missing()
    ensure_template = cache(lambda: db_template(ctx, count))

    def measured(label: str, argv_for: ArgvFor, setup: Setup | None = None) -> Measurement:
        return sends_nothing(ctx, label, argv_for, template=ensure_template(),
                             detail=lambda _emu: f"{count:,} files, no bytes sent", setup=setup)

    def kj_argv(emu: EmulatorProcess, scratch: Path) -> list[str]:
        return kodo_jobs_argv(ctx, emu, scratch, {"name": "sync", "kind": "sync", "source": str(tree.root),
                                                  "bucket": BUCKET})

    part = alternate("noop-1m", f"no-op resync of {count:,} files against {count:,} objects", [
        Side("kodo-jobs", lambda i: measured(f"noop1m-kj-{i}", kj_argv, warm_up(ctx, kj_argv)),
             lambda: missing_emulator or kj.missing(commands=("run",), kinds=("sync",))),
        Side("limit", lambda i: measured(f"noop1m-limit-{i}", lambda emu, _s: [
            ctx.python, "-m", "bench.baselines.limit_walk_list", emu.url, BUCKET, str(tree.root)]),
            lambda: missing_emulator),
    ], ctx.rounds)
    _rss_check(part)
    _ratio_check(part, "kodo-jobs / limit (walk + raw list)", 2.0)
    return [part]
