"""The executor's side of the one retry policy (:mod:`kodo_jobs.kodo.retry`).

The policy, its waits and its tenacity loop live in the client layer, where each part of an
upload is retried on its own; here they are reused for whole actions and for planning:

* :class:`RetryAgain`: raised by the runner when a kind answered ``pending`` for some actions;
  backs off like a retryable error;
* :func:`call_with_retries`: the policy's loop with a run's stop event (setting it ends a
  backoff at once and the last error is raised);
* :func:`policy_from_spec`: the policy of a job's ``retry:`` block, the only way one is built.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

from kodo_jobs.kodo import retry as kodo_retry
from kodo_jobs.kodo.retry import MAX_RETRY_AFTER, RetryPolicy

__all__ = ["MAX_RETRY_AFTER", "RetryAgain", "RetryPolicy", "call_with_retries", "policy_from_spec"]

T = TypeVar("T")


class RetryAgain(Exception):
    """Some actions of a call are not finished yet: try them again after a backoff."""


class RetryBlock(Protocol):
    """A job's ``retry:`` block as the manifest parsed it (the executor does not import the
    manifest models: it reads these four numbers)."""

    @property
    def attempts(self) -> int: ...
    @property
    def initial_wait(self) -> float: ...
    @property
    def max_wait(self) -> float: ...
    @property
    def throttle_wait(self) -> float: ...


def policy_from_spec(retry: RetryBlock) -> RetryPolicy:
    """The policy of a job's ``retry:`` model (attempts and waits in seconds, as the manifest
    parsed them). Its defaults are the manifest's; nothing here invents another set."""
    return RetryPolicy(attempts=int(retry.attempts), initial_wait=float(retry.initial_wait),
                       max_wait=float(retry.max_wait), throttle_wait=float(retry.throttle_wait))


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[BaseException, int, float], None],
    stop: threading.Event,
) -> T:
    """Call ``fn`` until it succeeds, fails for good, runs out of attempts, or ``stop`` is set.

    ``on_retry(exc, attempt, wait)`` is called before each backoff (for the log line). Besides
    the policy's retryable errors, :class:`RetryAgain` is retried too.
    """
    return kodo_retry.call_with_retries(
        lambda _attempt: fn(), policy, on_retry=on_retry, wait=stop.wait,
        retryable=lambda exc: policy.retryable(exc) or isinstance(exc, RetryAgain))


def _seconds(value: object, default: float) -> float:
    """``--max-duration`` of the CLI (a number, a timedelta, or ``30s``/``2m``/``1h``); kept
    here only until the CLI shares the manifest's duration parser (issue 15, item 13)."""
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
