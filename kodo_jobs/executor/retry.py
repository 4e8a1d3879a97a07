"""Retry policy by error class (never by message), run with tenacity.

* :class:`~kodo_jobs.kodo.errors.Throttled` (573): a longer backoff starting at
  ``throttle_wait``; a server's ``retry_after`` is honoured (capped at :data:`MAX_RETRY_AFTER`).
* other :class:`~kodo_jobs.kodo.errors.RetryableError` (connection errors, timeouts, 5xx, 599):
  jittered exponential backoff from ``initial_wait`` doubling up to ``max_wait``.
* :class:`RetryAgain`: raised by the runner when a kind answered ``pending`` for some actions;
  backs off like a retryable error.
* everything else (permanent errors, run-fatal errors, bugs) is not retried here.

``attempts`` counts every try, the first included.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import tenacity

from kodo_jobs.kodo.errors import RetryableError, Throttled

T = TypeVar("T")
MAX_RETRY_AFTER = 300.0


class RetryAgain(Exception):
    """Some actions of a call are not finished yet: try them again after a backoff."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry; built from a job's ``retry:`` block."""

    attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 30.0
    throttle_wait: float = 5.0

    def retryable(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth another attempt (by class only)."""
        return isinstance(exc, RetryableError | RetryAgain)

    def wait(self, exc: BaseException | None, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        r: float = (rng or random).uniform(0.5, 1.0)
        grow = float(2 ** (attempt - 1))
        if isinstance(exc, Throttled):
            base = min(max(self.max_wait, self.throttle_wait), self.throttle_wait * grow)
            wait = base * r
            if exc.retry_after is not None:
                wait = max(wait, min(float(exc.retry_after), MAX_RETRY_AFTER))
            return wait
        return min(self.max_wait, self.initial_wait * grow) * r


def _seconds(value: Any, default: float) -> float:
    """Durations arrive as numbers (seconds), timedeltas or strings such as ``30s``/``2m``."""
    if value is None:
        return default
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*", str(value))
    if not m:
        return default
    factor = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}[m.group(2)]
    return float(m.group(1)) * factor


def policy_from_spec(retry: Any) -> RetryPolicy:
    """Build a policy from a job's ``retry:`` model (or mapping); missing fields keep defaults."""
    d = RetryPolicy()
    if retry is None:
        return d

    def get(name: str) -> Any:
        if isinstance(retry, dict):
            return retry.get(name)
        return getattr(retry, name, None)

    attempts = get("attempts")
    return RetryPolicy(
        attempts=int(attempts) if attempts is not None else d.attempts,
        initial_wait=_seconds(get("initial_wait"), d.initial_wait),
        max_wait=_seconds(get("max_wait"), d.max_wait),
        throttle_wait=_seconds(get("throttle_wait"), d.throttle_wait),
    )


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[BaseException, int, float], None],
    stop: threading.Event,
) -> T:
    """Call ``fn`` until it succeeds, fails for good, runs out of attempts, or ``stop`` is set.

    ``on_retry(exc, attempt, wait)`` is called before each backoff (for the log line). While
    waiting, setting ``stop`` ends the wait at once and the last error is raised.
    """

    def wait_fn(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return policy.wait(exc, state.attempt_number)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None:
            on_retry(exc, state.attempt_number, state.next_action.sleep if state.next_action else 0.0)

    def stopper(state: tenacity.RetryCallState) -> bool:
        return stop.is_set() or state.attempt_number >= policy.attempts

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(policy.retryable),
        wait=wait_fn,
        stop=stopper,
        sleep=lambda seconds: None if stop.wait(seconds) else None,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(fn)
