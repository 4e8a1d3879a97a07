"""``python -m bench.startup_where``: where a short command's time goes, by library and by step.

A stack sampler in the measured process itself: a thread reads the main thread's stack every
millisecond (``sys._current_frames``, the GIL switch interval lowered so it gets to run) while
``kodo-jobs ARGS...`` runs through :func:`kodo_jobs.cli.main`. Each sample is put in one bucket:

* ``import <library>``: the outermost module being imported when the sample was taken that
  belongs to an installed library (``site-packages``) or the standard library;
* ``import kodo_jobs.<module>``: a module of ours being imported, with no library import under
  it: its own top level, which for the manifest models is pydantic building their validators;
* ``run: <function>``: no import on the stack: the deepest of our functions named by
  ``--step`` depth (e.g. the embedded emulator's start and stop).

Figures are shares of the sampled wall time; sampling slows the process down (the total is
longer than an unsampled run), so compare shares, not milliseconds, with ``python -m
bench.startup``. Run it from the folder the command expects (the quick start: the repository).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

Frame = tuple[str, str]
"""(file name, function name) of one stack frame."""


def _stack(frame: FrameType | None) -> list[Frame]:
    out: list[Frame] = []
    while frame is not None:
        out.append((frame.f_code.co_filename, frame.f_code.co_name))
        frame = frame.f_back
    out.reverse()
    return out


def bucket(stack: Sequence[Frame], package_root: str, step_depth: int) -> str:
    """The bucket of one sample (see the module docstring)."""
    ours: list[str] = []
    for filename, name in stack:
        if name != "<module>":
            if filename.startswith(package_root):
                ours.append(f"{os.path.relpath(filename, package_root)}:{name}")
            continue
        if "site-packages/" in filename:
            return "import " + filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
        if filename.startswith(package_root):
            continue  # ours: a library import deeper down wins, else the deepest of ours below
        if "/lib/python3" in filename:
            return "import stdlib " + filename.split("/lib/python3", 1)[1].split("/", 2)[1].removesuffix(".py")
    modules = [f for f, n in stack if n == "<module>" and f.startswith(package_root)]
    if modules:
        return "import kodo_jobs." + os.path.relpath(modules[-1], package_root).removesuffix(".py").replace("/", ".")
    return "run: " + (" > ".join(ours[-step_depth:]) if ours else "(interpreter)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup_where",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--top", type=int, default=30, help="buckets to show")
    parser.add_argument("--step", type=int, default=2, help="how many of our functions name a run: bucket")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the kodo-jobs arguments")
    opts = parser.parse_args(argv)
    main_id = threading.main_thread().ident
    samples: list[list[Frame]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            frame = sys._current_frames().get(main_id or 0)
            samples.append(_stack(frame))
            time.sleep(0.001)

    sys.setswitchinterval(0.0002)
    sampler = threading.Thread(target=sample, name="sampler", daemon=True)
    started = time.perf_counter()
    sampler.start()
    sys.argv = ["kodo-jobs", *opts.args]
    code: object = 0
    try:
        from kodo_jobs.cli import main as kodo_jobs_main

        kodo_jobs_main()
    except SystemExit as exc:
        code = exc.code
    finally:
        done.set()
        total = time.perf_counter() - started
        sampler.join()
    import kodo_jobs

    root = os.path.dirname(kodo_jobs.__file__) + os.sep
    counts = collections.Counter(bucket(s, root, opts.step) for s in samples)
    n = max(1, len(samples))
    print(f"kodo-jobs {' '.join(opts.args)}: exit {code}, {total * 1000:.0f} ms sampled, {len(samples)} samples")
    print("| bucket | share | ms (sampled) |")
    print("| --- | --- | --- |")
    groups = collections.Counter()
    for name, count in counts.items():
        groups["imports (libraries)" if name.startswith("import ") and "kodo_jobs." not in name
               else "imports (kodo_jobs' own top level)" if name.startswith("import ") else "running"] += count
    for name, count in [*counts.most_common(opts.top), *groups.most_common()]:
        print(f"| {name} | {100 * count / n:.1f}% | {total * 1000 * count / n:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
