"""Measuring one side of a scenario: wall time, client CPU time and peak RSS of a subprocess.

Each side runs as a child process and is reaped with :func:`os.wait4`, whose ``rusage`` belongs
to that child alone (and to the children it reaped itself, such as a hashing process pool), so
the harness's own work never leaks into a figure. Rounds are summarised by min and median; the
headline ratio is baseline median / kodo-jobs median (higher is better for kodo-jobs).
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ProcResult:
    """What one measured subprocess did and cost."""

    argv: tuple[str, ...]
    returncode: int
    wall_s: float
    cpu_s: float  # user + system of the child (and its reaped descendants)
    peak_rss_bytes: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def tail(self, lines: int = 15) -> str:
        """The end of stderr (then stdout), for failure messages."""
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return "\n".join(text[-lines:])


def run_measured(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    log_dir: Path,
    label: str,
) -> ProcResult:
    """Run ``argv`` to completion and measure it; output goes to files (no pipe deadlocks)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path = log_dir / f"{label}.stdout"
    err_path = log_dir / f"{label}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        timed_out = threading.Event()

        def _kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, _kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return ProcResult(
        argv=tuple(argv),
        returncode=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_bytes=usage.ru_maxrss * 1024,  # Linux reports KiB
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
        timed_out=timed_out.is_set(),
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """Min and median of a series of rounds."""

    min: float
    median: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            raise ValueError("no values to summarise")
        return cls(min=min(values), median=statistics.median(values), n=len(values))


def ratio(baseline_median: float, candidate_median: float) -> float:
    """Baseline time / candidate time: how many times faster the candidate is."""
    if candidate_median <= 0:
        return float("inf")
    return baseline_median / candidate_median


def fmt_seconds(value: float) -> str:
    """Compact human time for tables."""
    if value >= 100:
        return f"{value:.0f}s"
    if value >= 1:
        return f"{value:.2f}s"
    return f"{value * 1000:.0f}ms"


def fmt_mb(value_bytes: float) -> str:
    return f"{value_bytes / 1e6:.0f}MB"
