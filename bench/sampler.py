"""A small all-threads sampling profiler for the kodo-jobs side (a diagnosis tool).

pyinstrument follows only the thread that started it, and kodo-jobs does its work in pool
threads, so this samples every thread's Python stack (``sys._current_frames``) every
5 milliseconds and prints, per function, the share of samples in which it was running ("self")
or on the stack ("total"). Blocking waits show up under the Python function that blocked
(``socket.readinto``, ``threading.wait``...), so read "self" with that in mind.

Usage: ``python -m bench.sampler OUT.txt -m kodo_jobs run manifest.yaml ...``
(``run_measured`` timings are not comparable while sampling.)
"""

from __future__ import annotations

import collections
import gc
import runpy
import sys
import threading
import time
from pathlib import Path
from types import FrameType

Func = tuple[str, str, int]


class Sampler:
    """Counts leaf and on-stack functions over all threads but its own."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.samples = 0
        self.self_counts: collections.Counter[Func] = collections.Counter()
        self.total_counts: collections.Counter[Func] = collections.Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _func(frame: FrameType) -> Func:
        code = frame.f_code
        return (code.co_filename, code.co_name, code.co_firstlineno)

    def _loop(self) -> None:
        me = threading.get_ident()
        while not self._stop.is_set():
            # CPython 3.11: a GC run inside _current_frames() can free a threading.local, whose
            # dealloc re-takes the runtime lock _current_frames() holds: a self-deadlock.
            enabled = gc.isenabled()
            gc.disable()
            try:
                frames = sys._current_frames()
            finally:
                if enabled:
                    gc.enable()
            for ident, frame in frames.items():
                if ident == me:
                    continue
                self.samples += 1
                self.self_counts[self._func(frame)] += 1
                seen: set[Func] = set()
                node: FrameType | None = frame
                while node is not None:
                    func = self._func(node)
                    if func not in seen:
                        seen.add(func)
                        self.total_counts[func] += 1
                    node = node.f_back
            time.sleep(self.interval_s)

    def report(self, wall_s: float, top: int = 45) -> str:
        def name(func: Func) -> str:
            path, fn, line = func
            for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
                if marker in path:
                    path = path.split(marker, 1)[1]
            return f"{fn}  {path}:{line}"

        total = max(self.samples, 1)
        lines = [f"wall {wall_s:.2f}s, {self.samples} thread-samples at {self.interval_s * 1000:.0f} ms", "",
                 "self%   function (leaf: running, or blocked in C under it)"]
        lines += [f"{100 * n / total:5.1f}  {name(f)}" for f, n in self.self_counts.most_common(top)]
        lines += ["", "total%  function (on the stack)"]
        lines += [f"{100 * n / total:5.1f}  {name(f)}" for f, n in self.total_counts.most_common(top)]
        return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "-m":
        print(__doc__, file=sys.stderr)
        return 2
    out, module, args = Path(argv[0]), argv[2], argv[3:]
    sys.argv = [module, *args]
    sampler = Sampler()
    start = time.perf_counter()
    sampler.start()
    code = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sampler.stop()
        out.write_text(sampler.report(time.perf_counter() - start))
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
