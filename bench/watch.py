"""``python -m bench.watch``: what ``kodo-jobs watch`` costs and how soon it acts.

Two measurements against an emulator in its own process (figures go to docs/bench.md):

* **latency**: small files written one by one (each closed, then waited for): the time from
  the file's close to its object being visible (``rs stat`` answers), median and p95. It is
  bounded below by ``--debounce``: a file must be quiet that long before it is uploaded.
* **idle CPU**: a watcher over a large tree (100,000 files by default) that is already in
  the bucket (the watcher's own first full run puts it there), then nothing changes for
  ``--idle-seconds``: the watcher's CPU time over that window, as a share of one core.

No figure is asserted anywhere; this prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from bench import trees
from bench.emulator import ACCESS_KEY, BUCKET, SECRET_KEY, EmulatorProcess
from kodo_jobs.kodo.client import KodoClient
from kodo_jobs.kodo.errors import KodoError


def _manifest(folder: Path, url: str, source: Path) -> Path:
    path = folder / "watch.yaml"
    path.write_text(f"version: 1\ntarget: {{endpoint: {url}, access_key: {ACCESS_KEY}, secret_key: {SECRET_KEY}}}\n"
                    f"jobs:\n  - {{name: w, kind: sync, source: {source}, bucket: {BUCKET}, concurrency: 8}}\n")
    return path


class _Watch:
    """``kodo-jobs watch`` as a subprocess, counting its ``watch batch`` events."""

    def __init__(self, manifest: Path, debounce: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kodo_jobs", "watch", str(manifest), "--log-format", "json",
             "--debounce", debounce], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.batches = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if '"watch batch"' in line:
                self.batches += 1

    def wait_first_batch(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.batches < 1:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"watch gave no batch (exit {self.proc.poll()})")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def latency(work: Path, files: int, debounce: str) -> dict[str, Any]:
    src = work / "latency-src"
    src.mkdir(parents=True)
    with EmulatorProcess(work / "latency-emu", work / "latency-emu.log").start() as emu:
        w = _Watch(_manifest(work, emu.url, src), debounce)
        try:
            w.wait_first_batch(120)
            seconds: list[float] = []
            with KodoClient.for_endpoint(emu.url, ACCESS_KEY, SECRET_KEY) as client:
                for i in range(files):
                    key = f"f{i:04d}.txt"
                    with (src / key).open("wb") as f:
                        f.write(os.urandom(512))
                    closed = time.monotonic()
                    while True:
                        try:
                            client.rs.stat(BUCKET, key)
                            break
                        except KodoError:
                            if time.monotonic() - closed > 120:
                                raise
                            time.sleep(0.01)
                    seconds.append(time.monotonic() - closed)
        finally:
            w.stop()
    seconds.sort()
    return {"files": files, "debounce": debounce, "median_s": round(statistics.median(seconds), 3),
            "p95_s": round(seconds[int(0.95 * (len(seconds) - 1))], 3), "max_s": round(seconds[-1], 3)}


def idle_cpu(work: Path, files: int, idle_seconds: float, debounce: str) -> dict[str, Any]:
    tree = trees.small_files(work / f"idle-{files}", files, 64, 1024, seed=18)
    with EmulatorProcess(work / "idle-emu", work / "idle-emu.log").start() as emu:
        w = _Watch(_manifest(work, emu.url, tree.root), debounce)
        try:
            t0 = time.monotonic()
            w.wait_first_batch(3600)
            first = time.monotonic() - t0
            time.sleep(5)  # let the observer settle
            ps = psutil.Process(w.proc.pid)
            c0, m0 = sum(ps.cpu_times()[:2]), time.monotonic()
            time.sleep(idle_seconds)
            c1, m1 = sum(ps.cpu_times()[:2]), time.monotonic()
            rss = ps.memory_info().rss
        finally:
            w.stop()
    return {"files": files, "first_full_run_s": round(first, 1), "idle_window_s": round(m1 - m0, 1),
            "idle_cpu_share_of_one_core": round((c1 - c0) / (m1 - m0), 5), "rss_mb": round(rss / 1e6, 1),
            "batches_while_idle": w.batches - 1}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=500, help="small files for the latency measurement")
    ap.add_argument("--idle-files", type=int, default=100_000, help="files in the idle watcher's tree")
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--debounce", default="0.5s")
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="kodo-jobs-bench-watch-"))
    work.mkdir(parents=True, exist_ok=True)
    out = {"latency": latency(work, args.files, args.debounce),
           "idle": idle_cpu(work, args.idle_files, args.idle_seconds, args.debounce),
           "cpus": os.cpu_count(), "loadavg_at_end": os.getloadavg()}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
