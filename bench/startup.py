"""``python -m bench.startup``: what a short command costs from exec to exit.

Each case runs as its own process, ``--reps`` times in a row, reaped with :func:`os.wait4`
(:func:`bench.measure.run_measured`), so every figure is that process's wall time and its own CPU
time (user + system). The machine is shared, so the table gives median, min and max of both:
CPU time moves far less than wall time when other work competes for the two cores.

Cases:

* ``help``: ``kodo-jobs --help``;
* ``validate``: ``kodo-jobs validate`` of the quick-start manifest;
* ``quickstart-noop``: the README quick start's second ``kodo-jobs run`` (11 files, embedded
  emulator, nothing to do; one untimed run first seeds it);
* ``import-manifest`` / ``import-libs``: ``import kodo_jobs.manifest.models`` against
  ``import pydantic, yaml, click`` alone;
* ``resync-3000``: a no-op ``run`` of 3,000 small files against an emulator running in another
  process (one untimed run first uploads the tree and fills the hash cache).

Bytecode is compiled first, as after a normal install (the cases run with
``PYTHONDONTWRITEBYTECODE=1`` so nothing else gets written). Figures go to ``docs/bench.md``.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import kj
from bench.emulator import ACCESS_KEY, BUCKET, SECRET_KEY, EmulatorProcess
from bench.measure import ProcResult, run_measured

REPO = Path(__file__).resolve().parent.parent


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1", "BENCH_AK": ACCESS_KEY,
                "BENCH_SK": SECRET_KEY, "PYTHONPATH": str(REPO)})
    return env


def _series(label: str, argv: Sequence[str], *, reps: int, cwd: Path, env: dict[str, str],
            logs: Path) -> list[ProcResult]:
    results = []
    for i in range(reps):
        proc = run_measured(argv, cwd=cwd, env=env, timeout_s=120, log_dir=logs, label=f"{label}-{i}")
        if not proc.ok:
            raise SystemExit(f"{label} failed ({proc.returncode}):\n{proc.tail()}")
        results.append(proc)
    return results


def _row(label: str, results: Sequence[ProcResult]) -> str:
    def fmt(values: list[float]) -> str:
        return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"

    return (f"| {label} | {len(results)} | {fmt([r.wall_s for r in results])} "
            f"| {fmt([r.cpu_s for r in results])} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--files", type=int, default=3000, help="files of the resync case")
    parser.add_argument("--only", nargs="*", default=None, help="case names to run")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temp folder)")
    args = parser.parse_args(argv)

    compileall.compile_dir(str(REPO / "kodo_jobs"), quiet=1)
    work = args.work or Path(tempfile.mkdtemp(prefix="kj-startup-"))
    work.mkdir(parents=True, exist_ok=True)
    tmp = work / "tmp"
    tmp.mkdir(exist_ok=True)
    env = _env(tmp)
    logs = work / "logs"
    py = sys.executable
    kodo_jobs = [py, "-m", "kodo_jobs"]

    quick = work / "quickstart"
    if quick.exists():
        shutil.rmtree(quick)
    quick.mkdir()
    shutil.copy(REPO / "manifests" / "quickstart.yaml", quick / "quickstart.yaml")
    shutil.copytree(REPO / "manifests" / "quickstart-site", quick / "quickstart-site")
    qs_manifest = str(quick / "quickstart.yaml")

    def quickstart_noop() -> list[ProcResult]:
        _series("quickstart-seed", [*kodo_jobs, "run", qs_manifest], reps=1, cwd=quick, env=env, logs=logs)
        return _series("quickstart-noop", [*kodo_jobs, "run", qs_manifest], reps=args.reps, cwd=quick,
                       env=env, logs=logs)

    def resync() -> list[ProcResult]:
        tree = work / f"tree-{args.files}"
        if not tree.exists():
            for i in range(args.files):
                sub = tree / f"d{i // 100:03d}"
                sub.mkdir(parents=True, exist_ok=True)
                (sub / f"f{i:05d}.txt").write_bytes(f"file {i}\n".encode() * (1 + i % 64))
        data = work / "emu-data"
        if data.exists():
            shutil.rmtree(data)
        with EmulatorProcess(data_dir=data, log_path=logs / "emulator.log").start() as emu:
            manifest = kj.write_manifest(work / "resync.yaml", emu.url, [
                {"name": "sync", "kind": "sync", "source": str(tree), "bucket": BUCKET}])
            state = work / "resync.kjstate"
            for stale in work.glob("resync.kjstate*"):
                stale.unlink()
            cmd = [*kodo_jobs, "run", str(manifest), "--state", str(state)]
            _series("resync-seed", cmd, reps=1, cwd=work, env=env, logs=logs)
            return _series("resync-noop", cmd, reps=args.reps, cwd=work, env=env, logs=logs)

    def simple(label: str, cmd: list[str]) -> Callable[[], list[ProcResult]]:
        return lambda: _series(label, cmd, reps=args.reps, cwd=quick, env=env, logs=logs)

    cases: dict[str, Callable[[], list[ProcResult]]] = {
        "help": simple("help", [*kodo_jobs, "--help"]),
        "validate": simple("validate", [*kodo_jobs, "validate", qs_manifest]),
        "quickstart-noop": quickstart_noop,
        "import-manifest": simple("import-manifest", [py, "-c", "import kodo_jobs.manifest.models"]),
        "import-libs": simple("import-libs", [py, "-c", "import pydantic, yaml, click"]),
        f"resync-{args.files}": resync,
    }
    print("| case | runs | wall s: median (min-max) | CPU s: median (min-max) |")
    print("| --- | --- | --- | --- |")
    for name, case in cases.items():
        if args.only and name not in args.only:
            continue
        print(_row(name, case()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
