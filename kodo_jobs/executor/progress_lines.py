"""Progress where there is no terminal: one line every ``--progress-interval`` seconds.

CI logs and ``kubectl logs`` show nothing while a long upload runs, and CI systems kill jobs
that print nothing for a while. When stderr is not a TTY (where :mod:`.progress` draws its
bars), :class:`ProgressLines` prints one line per interval: the job, files and bytes done of
the total, the rate since the job started, the ETA and the largest file in flight. With
``--log-format json`` the same figures are a ``progress`` event of the JSON log instead.

A daemon thread wakes once a second and calls :meth:`ProgressLines.tick`, which writes only when
an interval has passed since the last line; the clock is injectable, so tests drive ``tick``
with a fake clock and never sleep.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.executor.events import Subscriber
from kodo_jobs.textsafe import escape_text
from kodo_jobs.units import human_bytes

DEFAULT_INTERVAL = 30.0


def human_duration(seconds: float) -> str:
    """``3725`` -> ``1h02m05s``; ``65`` -> ``1m05s``; ``9`` -> ``9s``."""
    s = max(0, int(seconds + 0.5))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m{sec:02d}s"
    return f"{m}m{sec:02d}s" if m else f"{sec}s"


class ProgressLines(Subscriber):
    """Periodic progress lines (or ``progress`` JSON events) for a non-terminal stderr."""

    def __init__(self, interval: float = DEFAULT_INTERVAL, *, out: IO[str] | None = None,
                 emit_event: Callable[..., object] | None = None,
                 clock: Callable[[], float] = time.monotonic, thread: bool = True) -> None:
        self.interval = interval
        self._out = out
        self._emit_event = emit_event
        self._clock = clock
        self._lock = threading.Lock()
        self._job: str | None = None
        self._files_total = self._bytes_total = 0
        self._files_done = self._bytes_done = 0
        self._job_started = self._last_line = 0.0
        self._in_flight: dict[str, Action] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if thread:
            self._thread = threading.Thread(target=self._loop, name="kodo-jobs-progress-lines", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(min(1.0, self.interval)):
            self.tick()

    def job_started(self, job: str, total: int, total_bytes: int) -> None:
        with self._lock:
            self._job = job
            self._files_total, self._bytes_total = total, total_bytes
            self._files_done = self._bytes_done = 0
            self._job_started = self._last_line = self._clock()
            self._in_flight.clear()

    def job_finished(self, job: str) -> None:
        with self._lock:
            self._job = None
            self._in_flight.clear()

    def progress(self, nbytes: int) -> None:
        with self._lock:
            self._bytes_done += nbytes

    def file_started(self, action: Action) -> None:
        with self._lock:
            self._in_flight[action.id] = action

    def file_finished(self, action: Action) -> None:
        with self._lock:
            self._in_flight.pop(action.id, None)

    def action_done(self, action: Action, outcome: Outcome) -> None:
        with self._lock:
            self._files_done += 1
            self._in_flight.pop(action.id, None)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def snapshot(self) -> dict[str, Any] | None:
        """The figures of the line due now (None when no job is executing)."""
        with self._lock:
            if self._job is None:
                return None
            elapsed = max(0.0, self._clock() - self._job_started)
            rate = self._bytes_done / elapsed if elapsed > 0 else 0.0
            left = max(0, self._bytes_total - self._bytes_done)
            eta = left / rate if rate > 0 and self._bytes_total else None
            big = max(self._in_flight.values(), key=lambda a: a.size, default=None)
            return {"job": self._job, "files_done": self._files_done, "files_total": self._files_total,
                    "bytes_done": self._bytes_done, "bytes_total": self._bytes_total,
                    "rate_bytes_per_second": round(rate, 1), "eta_seconds": None if eta is None else round(eta),
                    "current_key": big.key if big is not None else None,
                    "current_size": big.size if big is not None else None}

    def tick(self) -> bool:
        """Write one line (or event) when an interval has passed since the last; True if it did."""
        with self._lock:
            due = self._job is not None and self._clock() - self._last_line >= self.interval
            if due:
                self._last_line = self._clock()
        if not due:
            return False
        snap = self.snapshot()
        if snap is None:
            return False
        if self._emit_event is not None:
            self._emit_event("progress", **snap)
        else:
            out = self._out or sys.stderr
            out.write(format_line(snap) + "\n")
            out.flush()
        return True


def format_line(s: dict[str, Any]) -> str:
    """``progress site: 12/40 files, 1.0 MiB of 8.0 MiB, 512.0 KiB/s, ETA 14s, now big.iso (6.0 MiB)``."""
    rate = f"{human_bytes(int(s['rate_bytes_per_second']))}/s"
    eta = f"ETA {human_duration(s['eta_seconds'])}" if s["eta_seconds"] is not None else "ETA -"
    now = (f", now {escape_text(s['current_key'])} ({human_bytes(s['current_size'])})"
           if s["current_key"] is not None else "")
    return (f"progress {escape_text(s['job'])}: {s['files_done']}/{s['files_total']} files, "
            f"{human_bytes(s['bytes_done'])} of {human_bytes(s['bytes_total'])}, {rate}, {eta}{now}")


def progress_lines(interval: float, log_format: str, *, tty: bool | None = None) -> list[Subscriber]:
    """``[ProgressLines]`` when stderr is not a terminal and ``interval`` > 0, else nothing (a
    terminal has the rich bars). JSON logs get ``progress`` events through the run's logger."""
    on_tty = sys.stderr.isatty() if tty is None else tty
    if on_tty or interval <= 0:
        return []
    if log_format == "json":
        from kodo_jobs.log import get_logger

        return [ProgressLines(interval, emit_event=get_logger().info)]
    return [ProgressLines(interval)]


__all__ = ["DEFAULT_INTERVAL", "ProgressLines", "format_line", "human_duration", "progress_lines"]
