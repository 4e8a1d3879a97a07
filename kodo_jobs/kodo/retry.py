"""The one retry policy: by error class (never by message), jittered, Retry-After aware, on tenacity.

Every retrying loop of kodo-jobs runs through :func:`call_with_retries` with a
:class:`RetryPolicy` built from the job's ``retry:`` block: each part or block of a chunked
upload, a form upload, the listing pages of a sync, the planning of a job and the executor's
action retries. The policy lives in the client layer because the client retries each part on
its own (so a failing part never costs the parts in flight); the layers above reuse it.

* :class:`~kodo_jobs.kodo.errors.Throttled` (573/429/509): a longer backoff starting at
  ``throttle_wait``.
* other :class:`~kodo_jobs.kodo.errors.RetryableError` (no answer, timeouts, 5xx, 599):
  jittered exponential backoff from ``initial_wait`` doubling up to ``max_wait``.
* a server's ``Retry-After`` (on any retryable answer) is a floor for the wait, capped at
  :data:`MAX_RETRY_AFTER`.
* everything else (permanent errors, run-fatal errors, bugs) is raised at once.

``attempts`` counts every try, the first included. The error that ends the loop carries the
number of tries it took in ``KodoError.attempts``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from .errors import KodoError, RetryableError, Throttled

T = TypeVar("T")
MAX_RETRY_AFTER = 300.0
"""Longest wait a server's Retry-After may impose."""

Waiter = Callable[[float], bool]
"""Wait up to ``seconds``; True when a stop request came meanwhile (``threading.Event.wait``)."""
OnRetry = Callable[[BaseException, int, float], None]
"""Called before each backoff with the error, the number of the failed try and the wait."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry. Built from a job's ``retry:`` block (whose defaults are
    the manifest's, see :func:`kodo_jobs.jobs.tries.policy_for`); no second set of defaults here."""

    attempts: int
    initial_wait: float
    max_wait: float
    throttle_wait: float

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if min(self.initial_wait, self.max_wait, self.throttle_wait) < 0:
            raise ValueError("waits must not be negative")

    @classmethod
    def once(cls) -> RetryPolicy:
        """A single try (a client used without a policy retries nothing itself)."""
        return cls(attempts=1, initial_wait=0.0, max_wait=0.0, throttle_wait=0.0)

    def retryable(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth another try (by class only)."""
        return isinstance(exc, RetryableError)

    def wait(self, exc: BaseException | None, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        r: float = (rng or random).uniform(0.5, 1.0)
        grow = float(2 ** min(attempt - 1, 60))
        if isinstance(exc, Throttled):
            wait = min(max(self.max_wait, self.throttle_wait), self.throttle_wait * grow) * r
        else:
            wait = min(self.max_wait, self.initial_wait * grow) * r
        after = getattr(exc, "retry_after", None)
        if isinstance(exc, RetryableError) and after is not None:
            wait = max(wait, min(float(after), MAX_RETRY_AFTER))
        return wait


def _never_stop(seconds: float) -> bool:
    import time

    time.sleep(seconds)
    return False


def call_with_retries(
    fn: Callable[[int], T],
    policy: RetryPolicy,
    *,
    on_retry: OnRetry | None = None,
    wait: Waiter = _never_stop,
    retryable: Callable[[BaseException], bool] | None = None,
) -> T:
    """Call ``fn(attempt)`` (1-based) until it succeeds, fails for good, runs out of attempts,
    or a stop request ends a backoff (then the last error is raised).

    ``retryable`` widens the policy's own predicate (the executor adds its ``RetryAgain``).
    """
    stopped = False
    is_retryable = retryable or policy.retryable

    def wait_fn(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return policy.wait(exc, state.attempt_number)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None and on_retry is not None:
            on_retry(exc, state.attempt_number, state.next_action.sleep if state.next_action else 0.0)

    def stopper(state: tenacity.RetryCallState) -> bool:
        # wait(0): a stop requested before this failure ends the loop without a backoff
        return stopped or state.attempt_number >= policy.attempts or wait(0)

    def sleep(seconds: float) -> None:
        nonlocal stopped
        if wait(seconds):
            stopped = True

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_retryable), wait=wait_fn, stop=stopper, sleep=sleep,
        before_sleep=before_sleep, reraise=True,
    )
    tries = 0
    last: BaseException | None = None

    def once() -> T:
        nonlocal tries, last
        if stopped and last is not None:
            raise last  # a stop request ended the backoff: no further try
        tries += 1
        try:
            return fn(tries)
        except BaseException as exc:
            last = exc
            raise

    try:
        return retrying(once)
    except KodoError as exc:
        exc.attempts = tries
        raise
