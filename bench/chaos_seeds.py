"""Chaos figures on fixed seeds: one big file, one fault rate, seeds 1..N, first run only.

``python -m bench.chaos_seeds [--tree PATH] [--rate 0.25] [--size-mib 36] [--seeds 10] [--version v2]``

For each seed: a fresh emulator (of this checkout) with ``--fault-rate/--fault-seed``, one
``kodo-jobs run`` of a sync of one file (4 MiB parts, ``part_concurrency: 4``, the default
retry policy) with the kodo-jobs of ``--tree`` (default: this checkout; point it at an older
checkout for "before" figures), then the exit code, the emulator's bytes received over the
file's size, and the part requests. Prints a Markdown table and the totals.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import kj, trees
from bench.emulator import ACCESS_KEY, BUCKET, SECRET_KEY, EmulatorProcess

REPO = Path(__file__).resolve().parent.parent


def one(tree: Path, source: Path, size: int, rate: float, seed: int, version: str, work: Path) -> dict[str, object]:
    """One first run at one seed: exit code, wire/payload, part requests, seconds."""
    with EmulatorProcess(work / "data", work / "emulator.log", fault_rate=rate, fault_seed=seed).start() as emu:
        manifest = kj.write_manifest(work / "chaos.yaml", emu.url, [
            {"name": "big", "kind": "sync", "source": str(source), "bucket": BUCKET,
             "upload": {"resumable": version, "threshold": "4MiB", "part_size": "4MiB", "part_concurrency": 4}}])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QINIU_", "BENCH_"))}
        env.update({"BENCH_AK": ACCESS_KEY, "BENCH_SK": SECRET_KEY, "PYTHONPATH": str(tree)})
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "kodo_jobs", "run", str(manifest), "--state",
                               str(work / "state.kjstate")], cwd=tree, env=env, capture_output=True, text=True,
                              timeout=1800, check=False)
        seconds = time.monotonic() - started
        stats = emu.stats()
    requests = stats["requests"]
    parts = requests.get("up.upload_part", 0) + requests.get("up.mkblk", 0)
    return {"seed": seed, "exit": proc.returncode, "wire_over_payload": stats["bytes_received"] / size,
            "part_requests": parts, "faults": stats["faults_injected"], "seconds": round(seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos_seeds", description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=REPO, help="kodo-jobs checkout whose client runs")
    parser.add_argument("--rate", type=float, default=0.25)
    parser.add_argument("--size-mib", type=int, default=36)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 1..N")
    parser.add_argument("--version", choices=("v1", "v2"), default="v2")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    size = args.size_mib * trees.MiB
    rows = []
    with tempfile.TemporaryDirectory(prefix="kodo-jobs-chaos-") as tmp:
        base = Path(tmp)
        file_tree = trees.large_file(base / "src", size, seed=36)
        for seed in range(1, args.seeds + 1):
            rows.append(one(args.tree.resolve(), file_tree.root, size, args.rate, seed, args.version,
                            base / f"seed-{seed}"))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"{args.size_mib} MiB file, {args.version}, 4 MiB parts, part_concurrency 4, fault rate {args.rate}, "
          f"kodo-jobs of {args.tree}")
    print()
    print("| seed | exit | wire / payload | part requests | faults | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['seed']} | {r['exit']} | {r['wire_over_payload']:.2f}x | {r['part_requests']} | {r['faults']} "
              f"| {r['seconds']} |")
    ok = sum(1 for r in rows if r["exit"] == 0)
    mean = sum(float(str(r["wire_over_payload"])) for r in rows) / len(rows)
    print(f"\nfirst-run success {ok}/{len(rows)}; mean wire / payload {mean:.2f}x; "
          f"worst {max(float(str(r['wire_over_payload'])) for r in rows):.2f}x")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
