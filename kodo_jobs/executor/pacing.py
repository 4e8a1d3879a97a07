"""Pacing: keep a job under an ops-per-second or bytes-per-second budget, and back off on 573.

* :class:`TokenBucket` - a thread-safe token bucket. ``acquire(n)`` blocks the calling worker
  until ``n`` tokens are available; a request larger than the burst goes into debt (the next
  callers wait it off), so a 64 MiB chunk cannot slip through a limit of 1 MiB a second. Used per job for
  ``ops_per_second`` (one token per action) and ``bandwidth`` (one token per byte, fed from the
  transfer loops' progress callbacks, so the limit holds *during* a large file, not after it).
* :class:`AdaptiveLimit` - the number of workers allowed to start a call: halved on every
  Throttled (573) answer, grown back by one after ``grow_after`` successes in a row, never
  above the configured concurrency nor below one.

Both take an injectable ``clock``/``sleep`` so their arithmetic is tested without waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up (default: one second's worth).

    ``start_full=False`` starts with no tokens: for a byte limit, so a whole transfer averages
    the rate instead of getting one free burst first."""

    def __init__(self, rate: float, burst: float | None = None, *, start_full: bool = True,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else rate)
        self._clock, self._sleep = clock, sleep
        self._tokens = self.burst if start_full else 0.0
        self._last = clock()
        self._lock = threading.Lock()
        self.waited = 0.0
        """Total seconds callers were held back (for the log line)."""

    def acquire(self, n: float = 1.0) -> float:
        """Take ``n`` tokens, sleeping as long as needed; returns the seconds this call waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= n
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited += wait
        if wait > 0:
            self._sleep(wait)
        return wait


class AdaptiveLimit:
    """How many calls may be in flight: ``ceiling`` at first, halved on 573, +1 after successes."""

    def __init__(self, ceiling: int, *, grow_after: int = 20) -> None:
        if ceiling < 1:
            raise ValueError("ceiling must be at least 1")
        self.ceiling, self.grow_after = ceiling, grow_after
        self.limit = ceiling
        self._streak = 0
        self._in_flight = 0
        self._cond = threading.Condition()
        self.shrinks = 0

    def throttled(self) -> None:
        """A 573 (or 429/509) answer: halve the limit (at least one worker keeps going)."""
        with self._cond:
            self.limit = max(1, self.limit // 2)
            self._streak = 0
            self.shrinks += 1

    def succeeded(self) -> None:
        """A call that was not throttled: after ``grow_after`` in a row, allow one more worker."""
        with self._cond:
            self._streak += 1
            if self._streak >= self.grow_after and self.limit < self.ceiling:
                self.limit += 1
                self._streak = 0
                self._cond.notify()

    def __enter__(self) -> AdaptiveLimit:
        with self._cond:
            while self._in_flight >= self.limit:
                self._cond.wait(0.5)
            self._in_flight += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify()


__all__ = ["AdaptiveLimit", "TokenBucket"]
