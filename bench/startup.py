"""``python -m bench.startup``: what a short command costs from exec to exit.

Each case runs as its own process, ``--reps`` times, reaped with :func:`os.wait4`
(:func:`bench.measure.run_measured`), so every figure is that process's wall time and its own CPU
time (user + system). The machine is shared, so the table gives median, min and max of both:
CPU time moves far less than wall time when other work competes for the two cores.

``--baseline DIR`` measures a second checkout (e.g. ``git worktree add /tmp/kj-main main``) in the
same run: its ``kodo_jobs`` is put first on ``PYTHONPATH`` and the two sides alternate run by
run, so a drift of the machine's load hits both alike.

Cases:

* ``help``: ``kodo-jobs --help``;
* ``validate``: ``kodo-jobs validate`` of the quick-start manifest;
* ``quickstart-noop``: the README quick start's second ``kodo-jobs run`` (11 files, embedded
  emulator, nothing to do; one untimed run per side first seeds it);
* ``import-manifest`` / ``import-libs``: ``import kodo_jobs.manifest.models`` against
  ``import pydantic, yaml, click`` alone;
* ``resync-N``: a no-op ``run`` of N small files (``--files``, default 3,000) against an emulator
  running in another process (one untimed run per side first uploads the tree, fills the hash
  cache).

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
from dataclasses import dataclass
from pathlib import Path

from bench import kj
from bench.emulator import ACCESS_KEY, BUCKET, SECRET_KEY, EmulatorProcess
from bench.measure import ProcResult, run_measured

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Side:
    """A checkout whose ``kodo_jobs`` is measured."""

    label: str
    root: Path

    def env(self, tmp: Path) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1", "BENCH_AK": ACCESS_KEY,
                    "BENCH_SK": SECRET_KEY, "PYTHONPATH": str(self.root)})
        return env


Argv = Callable[[Side], tuple[list[str], Path]]
"""A case's command line and working folder, per side."""


def _measure(label: str, argv: Argv, sides: Sequence[Side], *, reps: int, tmp: Path,
             logs: Path) -> dict[str, list[ProcResult]]:
    results: dict[str, list[ProcResult]] = {side.label: [] for side in sides}
    for i in range(reps):
        for side in sides:  # alternate: a drift of the machine's load hits every side alike
            cmd, cwd = argv(side)
            proc = run_measured(cmd, cwd=cwd, env=side.env(tmp), timeout_s=120, log_dir=logs,
                                label=f"{label}-{side.label}-{i}")
            if not proc.ok:
                raise SystemExit(f"{label} ({side.label}) failed ({proc.returncode}):\n{proc.tail()}")
            results[side.label].append(proc)
    return results


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--files", type=int, default=3000, help="files of the resync case")
    parser.add_argument("--only", nargs="*", default=None, help="case names to run")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temp folder)")
    parser.add_argument("--baseline", type=Path, default=None, help="a second checkout to measure alongside")
    args = parser.parse_args(argv)

    sides = [Side("this", REPO)]
    if args.baseline is not None:
        sides.insert(0, Side("baseline", args.baseline.resolve()))
    for side in sides:
        compileall.compile_dir(str(side.root / "kodo_jobs"), quiet=1)
    work = args.work or Path(tempfile.mkdtemp(prefix="kj-startup-"))
    work.mkdir(parents=True, exist_ok=True)
    tmp = work / "tmp"
    tmp.mkdir(exist_ok=True)
    logs = work / "logs"
    py = sys.executable

    def quick_dir(side: Side) -> Path:
        return work / f"quickstart-{side.label}"

    for side in sides:
        folder = quick_dir(side)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        shutil.copy(REPO / "manifests" / "quickstart.yaml", folder / "quickstart.yaml")
        shutil.copytree(REPO / "manifests" / "quickstart-site", folder / "quickstart-site")

    def kodo_jobs(side: Side, *rest: str) -> tuple[list[str], Path]:
        return [py, "-m", "kodo_jobs", *rest], quick_dir(side)

    def python(code: str) -> Argv:
        return lambda side: ([py, "-c", code], quick_dir(side))

    def quickstart_noop(reps: int) -> dict[str, list[ProcResult]]:
        def argv(side: Side) -> tuple[list[str], Path]:
            return kodo_jobs(side, "run", str(quick_dir(side) / "quickstart.yaml"))

        _measure("quickstart-seed", argv, sides, reps=1, tmp=tmp, logs=logs)
        return _measure("quickstart-noop", argv, sides, reps=reps, tmp=tmp, logs=logs)

    def resync(reps: int) -> dict[str, list[ProcResult]]:
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
            for stale in work.glob("resync-*.kjstate*"):
                stale.unlink()

            def argv(side: Side) -> tuple[list[str], Path]:
                return ([py, "-m", "kodo_jobs", "run", str(manifest), "--state",
                         str(work / f"resync-{side.label}.kjstate")], work)

            _measure("resync-seed", argv, sides, reps=1, tmp=tmp, logs=logs)
            return _measure("resync-noop", argv, sides, reps=reps, tmp=tmp, logs=logs)

    def simple(label: str, argv: Argv) -> Callable[[int], dict[str, list[ProcResult]]]:
        return lambda reps: _measure(label, argv, sides, reps=reps, tmp=tmp, logs=logs)

    cases: dict[str, Callable[[int], dict[str, list[ProcResult]]]] = {
        "help": simple("help", lambda side: kodo_jobs(side, "--help")),
        "validate": simple("validate", lambda side: kodo_jobs(side, "validate", str(quick_dir(side) / "quickstart.yaml"))),
        "quickstart-noop": quickstart_noop,
        "import-manifest": simple("import-manifest", python("import kodo_jobs.manifest.models")),
        "import-libs": simple("import-libs", python("import pydantic, yaml, click")),
        f"resync-{args.files}": resync,
    }
    print("| case | side | runs | wall s: median (min-max) | CPU s: median (min-max) |")
    print("| --- | --- | --- | --- | --- |")
    for name, case in cases.items():
        if args.only and name not in args.only:
            continue
        for label, results in case(args.reps).items():
            print(f"| {name} | {label} | {len(results)} | {_fmt([r.wall_s for r in results])} "
                  f"| {_fmt([r.cpu_s for r in results])} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
