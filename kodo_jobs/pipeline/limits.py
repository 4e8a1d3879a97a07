"""Limits: the run's own window (``--max-duration``, ``--max-bytes``), and a job's run window and
pacing (``max_duration``, ``max_bytes``, ``ops_per_second``, ``bandwidth``), plus adaptive
concurrency on 573.

The run's window: :func:`run_deadline` and :class:`StopAfterBytes` set the run's stop event, so
the run stops exactly like on SIGTERM (exit 130, the rest resumes next run).

:class:`JobLimits` is set up by :mod:`kodo_jobs.pipeline.execute` around one job and uses only the run's stop
event, its event bus and the job's bound ``run`` callable, so neither the executor nor the
kinds need to know about it:

* **windows** - ``max_duration`` starts a timer and ``max_bytes`` counts the bus's progress
  bytes; either one sets the run's stop event, so the job stops exactly like on SIGTERM: no new
  action starts, calls in flight finish and are recorded, the rest stays pending in the state
  file. The run then clears the event (:meth:`release`) and goes on with the next job; it ends
  ``interrupted`` (exit 130, like ``--max-duration``), and the next run continues the job.
* **ops_per_second** - one token per request (a call of the kind's ``run``: one upload, or one
  rs batch), taken before the call; the manifest documents it as "pace requests".
* **bandwidth** - one token per byte, taken in the worker that reported the bytes (the bus
  calls subscribers synchronously), so an upload or download is slowed while it runs. The bucket
  starts empty, so the average over a transfer is the limit, not limit plus one burst.
* **adaptive concurrency** - :class:`~kodo_jobs.executor.pacing.AdaptiveLimit` gates the
  calls: halved on Throttled (573/429/509, raised or in an outcome), one more after
  ``GROW_AFTER`` unthrottled calls in a row, never above the job's concurrency.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.executor.events import EventBus, Subscriber
from kodo_jobs.executor.pacing import AdaptiveLimit, TokenBucket
from kodo_jobs.kodo.errors import Throttled

if TYPE_CHECKING:
    from kodo_jobs.manifest.models import AnyJob

GROW_AFTER = 20
"""Unthrottled calls in a row before one more worker may start a call."""
THROTTLE_CODES = frozenset({573, 429, 509})

RunFn = Callable[[Sequence[Action]], list[Outcome]]


def run_deadline(seconds: float | None, stop: threading.Event) -> threading.Timer | None:
    """``--max-duration``: a started timer that sets ``stop`` after ``seconds`` (cancel it when the
    run ends); None without a limit."""
    if seconds is None:
        return None
    timer = threading.Timer(seconds, stop.set)
    timer.daemon = True
    timer.start()
    return timer


class StopAfterBytes(Subscriber):
    """``--max-bytes``: asks the run to stop cleanly once ``limit`` bytes were sent (the rest
    resumes next run)."""

    def __init__(self, limit: int, stop: threading.Event) -> None:
        self.limit, self.stop, self.sent = limit, stop, 0
        self._lock = threading.Lock()

    def progress(self, nbytes: int) -> None:
        """Count sent bytes; set the stop event at the limit."""
        with self._lock:
            self.sent += nbytes
            if self.sent >= self.limit:
                self.stop.set()


class _Bytes(Subscriber):
    """Counts progress bytes for ``max_bytes`` and pays them into the bandwidth bucket."""

    def __init__(self, owner: JobLimits) -> None:
        self.owner = owner

    def progress(self, nbytes: int) -> None:
        self.owner.on_bytes(nbytes)


class JobLimits:
    """One job's windows and pacing (a context manager around planning and running the job)."""

    def __init__(self, spec: AnyJob, stop: threading.Event, bus: EventBus, *, concurrency: int) -> None:
        self.stop, self.bus = stop, bus
        self.max_duration: float | None = _float(spec.max_duration)
        self.max_bytes: int | None = _int(spec.max_bytes)
        ops = _float(spec.ops_per_second)
        bw = _float(spec.bandwidth)
        self.ops = TokenBucket(ops) if ops else None
        self.bandwidth = TokenBucket(bw, start_full=False) if bw else None
        self.adaptive = AdaptiveLimit(max(1, concurrency), grow_after=GROW_AFTER)
        self.tripped = ""
        self.sent = 0
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._sub = _Bytes(self)

    @property
    def note(self) -> str:
        """The report note of a job stopped by its window ('' when it was not)."""
        if not self.tripped:
            return ""
        return f"stopped by {self.tripped}; run again to continue"

    def __enter__(self) -> JobLimits:
        if self.max_duration:
            self._timer = threading.Timer(self.max_duration, self._trip, args=(f"max_duration ({self.max_duration:g}s)",))
            self._timer.daemon = True
            self._timer.start()
        if self.max_bytes is not None or self.bandwidth is not None:
            self.bus.subscribers.append(self._sub)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._sub in self.bus.subscribers:
            self.bus.subscribers.remove(self._sub)

    def _trip(self, why: str) -> None:
        if not self.stop.is_set():
            self.tripped = why
            self.stop.set()

    def on_bytes(self, nbytes: int) -> None:
        """Progress bytes of this job: budget, then bandwidth pacing (sleeps in the worker)."""
        if self.max_bytes is not None:
            with self._lock:
                self.sent += nbytes
                over = self.sent >= self.max_bytes
            if over:
                self._trip(f"max_bytes ({self.max_bytes} bytes)")
        if self.bandwidth is not None:
            self.bandwidth.acquire(nbytes)

    def release(self) -> bool:
        """After the job: True (and the stop event cleared) when the job's own window stopped it."""
        if self.tripped and self.stop.is_set():
            self.stop.clear()
            return True
        return False

    def wrap(self, fn: RunFn) -> RunFn:
        """``fn`` paced by ops_per_second and gated by the adaptive concurrency limit."""

        def paced(actions: Sequence[Action]) -> list[Outcome]:
            if self.ops is not None:
                self.ops.acquire(1)  # one request (an upload, or one rs batch of many ops)
            with self.adaptive:
                try:
                    outcomes = fn(actions)
                except Throttled:
                    self.adaptive.throttled()
                    raise
            if any(o.code in THROTTLE_CODES for o in outcomes):
                self.adaptive.throttled()
            else:
                self.adaptive.succeeded()
            return outcomes

        return paced


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and value > 0 else None


__all__ = ["GROW_AFTER", "JobLimits", "StopAfterBytes", "run_deadline"]
