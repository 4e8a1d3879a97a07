"""Measure how well a job's ``bandwidth:`` limit holds on a 32 MiB transfer (upload and download).

    .venv/bin/python -m bench.bandwidth [--limit 8MiB] [--size-mib 32]

Starts the emulator in-process on loopback, runs ``kodo-jobs run`` as a subprocess for an
upload sync of one file and then a download sync of it, and prints for each direction the
job's duration from its JSON report, the achieved rate and its deviation from the limit (the
issue asks for 20%). Timings stay out of the test suite; this is where they are measured.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from kodo_jobs.emulator.config import EmulatorConfig
from kodo_jobs.emulator.server import start_emulator
from kodo_jobs.manifest.types import parse_size

AK, SK, BUCKET = "bench-ak", "bench-sk", "bench"


def _run(manifest: Path, report: Path) -> float:
    subprocess.run([sys.executable, "-m", "kodo_jobs", "run", str(manifest), "--report", str(report)],
                   check=True, capture_output=True)
    doc = json.loads(report.read_text())
    return float(doc["jobs"][0]["duration"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", default="8MiB")
    ap.add_argument("--size-mib", type=int, default=32)
    args = ap.parse_args()
    limit = parse_size(args.limit)
    size = args.size_mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="kj-bw-") as tmp:
        root = Path(tmp)
        (root / "up").mkdir()
        (root / "up" / "big.bin").write_bytes(bytes(range(256)) * (size // 256))
        with start_emulator(EmulatorConfig(data_dir=root / "emu", access_key=AK, secret_key=SK,
                                           buckets=(BUCKET,))) as emu:
            for direction, folder in (("upload", "up"), ("download", "down")):
                doc = {"version": 1, "target": {"endpoint": emu.url, "access_key": AK, "secret_key": SK},
                       "jobs": [{"name": direction, "kind": "sync", "source": f"./{folder}", "bucket": BUCKET,
                                 "direction": direction, "bandwidth": args.limit, "concurrency": 2}]}
                m = root / f"{direction}.yaml"
                m.write_text(yaml.safe_dump(doc))
                seconds = _run(m, root / f"{direction}.json")
                rate = size / seconds
                print(f"{direction:8} {args.size_mib} MiB in {seconds:.2f}s = {rate / 1048576:.2f} MiB/s "
                      f"(limit {limit / 1048576:.2f} MiB/s, {100 * (rate - limit) / limit:+.1f}%)")


if __name__ == "__main__":
    main()
