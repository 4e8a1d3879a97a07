"""``python -m bench [--quick] [--only NAME ...] [--rounds N] [--json PATH] [--latency D]``.

Runs each scenario's sides alternately for N rounds (full: 3, quick: 1), prints a Markdown
table of min/median wall time, client CPU and peak RSS, emulator CPU, and the issue's targets
with whether this run met them. Exit status: 0 when every side that is available completed and
verified its result (timings never decide it), 1 otherwise. Sides whose kodo-jobs piece has not
landed yet are reported as "unavailable" and do not fail the run.

``--latency D`` (e.g. ``30ms``) also runs the fresh-sync, no-op resync and batch-delete
scenarios (those selected) against an emulator started with ``--latency D``, a delay before
every answer as on a link to a distant region; their parts are named ``<part>@D``. On loopback
a request costs only CPU; with latency, round trips dominate, as against real Kodo.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LATENCY_SCENARIOS = ("fresh-sync", "noop-resync", "batch-delete")


def _scenarios() -> dict[str, Callable[..., list]]:  # type: ignore[type-arg]
    from bench import (
        s1_fresh_sync,
        s2_noop_resync,
        s3_large_file,
        s4_batch_delete,
        s5_etag,
        s6_plan_memory,
        s7_flaky_large,
        s8_scale,
        s9_stream_1m,
    )

    return {"fresh-sync": s1_fresh_sync.run, "noop-resync": s2_noop_resync.run, "large-file": s3_large_file.run,
            "batch-delete": s4_batch_delete.run, "etag": s5_etag.run, "plan-memory": s6_plan_memory.run,
            "flaky-large": s7_flaky_large.run, "plan-500k": s8_scale.run_plan, "plan-include": s8_scale.run_include,
            "noop-1m": s8_scale.run_noop, "download-1m": s9_stream_1m.run_download,
            "batch-select-1m": s9_stream_1m.run_batch_select}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="small sizes, one round (CI smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per side (default: quick 1, full 3)")
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these scenarios")
    parser.add_argument("--json", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--work", type=Path, default=None,
                        help="work folder for trees and emulator data (default: a folder in the temp dir)")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="sample every thread of the kodo-jobs CLI sides into DIR/<side>.txt (slows them)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per measured process")
    parser.add_argument("--latency", default=None, metavar="D",
                        help=f"also run {', '.join(LATENCY_SCENARIOS)} against an emulator with --latency D (e.g. 30ms)")
    args = parser.parse_args(argv)
    if args.latency is not None:
        from kodo_jobs.manifest.types import parse_duration

        try:
            parse_duration(args.latency)
        except ValueError as exc:
            parser.error(f"--latency {exc}")

    work = (args.work or Path(tempfile.gettempdir()) / f"kodo-jobs-bench-{'quick' if args.quick else 'full'}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    # the SDK (imported here for the etag oracle) caches regions under the temp dir: keep it ours
    os.environ["TMPDIR"] = str(work / "tmp")
    (work / "tmp").mkdir(exist_ok=True)
    tempfile.tempdir = None

    from bench.report import machine, table
    from bench.scenario import BenchContext

    # The SDK side imports bytecode that pip compiled at install time; an editable checkout has
    # none, and the measured sides run with PYTHONDONTWRITEBYTECODE=1, so without this every
    # kodo-jobs process would compile ~80 modules from source (about 0.1-0.2 s per run).
    # Compiling once up front is what a regular `pip install` does; it is not measured.
    compileall.compile_dir(str(REPO / "kodo_jobs"), quiet=1)

    ctx = BenchContext(quick=args.quick, rounds=args.rounds or (1 if args.quick else 3), work=work, repo=REPO,
                       timeout_s=args.timeout or (300.0 if args.quick else 1800.0),
                       profile_dir=args.profile.resolve() if args.profile else None)
    scenarios = _scenarios()
    names = args.only or list(scenarios)
    unknown = [n for n in names if n not in scenarios]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {list(scenarios)}")

    parts = []
    started = time.perf_counter()
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        parts.extend(scenarios[name](ctx))
        print(f"== {name} done in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    if args.latency:
        slow = dataclasses.replace(ctx, latency=args.latency)
        for name in (n for n in names if n in LATENCY_SCENARIOS):
            print(f"== {name} @{args.latency}", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            for part in scenarios[name](slow):
                part.name = f"{part.name}@{args.latency}"
                part.title = f"{part.title}, {args.latency} before every answer"
                parts.append(part)
            print(f"== {name} @{args.latency} done in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    info = machine()
    kind = "quick smoke test: small sizes, no verdicts" if args.quick else "full"
    header = (f"kodo-jobs bench ({kind}, {ctx.rounds} round(s)) on {info['cores']} cores, "
              f"{info['cpu_model']}, Python {info['python']}, {info['date_utc']}, "
              f"total {time.perf_counter() - started:.0f}s")
    print(header)
    print()
    print(table(parts, verdicts=not args.quick))
    failed = [f"{p.name}/{s.name}" for p in parts for s in p.sides if s.status == "failed"]
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "quick": args.quick, "rounds": ctx.rounds,
                                         "parts": [p.to_json() for p in parts], "failed": failed}, indent=2))
    if failed:
        print(f"\nFAILED sides: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
