"""The job's retry policy, and per-action attempt counting so a kind knows its last try.

:func:`policy_for` is the one place a job's :class:`~kodo_jobs.kodo.retry.RetryPolicy` is
built (from its ``retry:`` block, or the manifest's defaults); the executor, the planner, the
sync listing and the uploads of one job all use it.

The executor retries an action while its Outcome is ``pending``; once the job's
``retry.attempts`` are spent it records a generic failure without the Kodo code. Kinds that
answer per item (batch ops of a 298, fetch URLs, CDN chunks) count attempts here and turn the
last retryable failure into a ``failed`` Outcome that keeps the code, and writes it to the
failure file. Counts live per run, in memory: a rerun starts afresh, as the executor does.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.executor.retry import policy_from_spec
from kodo_jobs.kodo.errors import KodoError, RetryableError
from kodo_jobs.kodo.retry import RetryPolicy

if TYPE_CHECKING:
    from kodo_jobs.manifest.spec_common import JobBase


class Tries:
    """Attempts per (run, action id); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}

    def next(self, run_id: str, action_id: str) -> int:
        """Count one more attempt of this action in this run and return its number (1-based)."""
        with self._lock:
            mark = (run_id, action_id)
            n = self._counts.get(mark, 0) + 1
            self._counts[mark] = n
            return n


def policy_for(spec: JobBase) -> RetryPolicy:
    """The retry policy of a job spec: its ``retry:`` block (every spec has one: a job built in
    code, e.g. a ``then:`` follow-up, gets the manifest's defaults from the model)."""
    return policy_from_spec(spec.retry)


def max_attempts(spec: JobBase) -> int:
    """The job's ``retry.attempts``."""
    return policy_for(spec).attempts


def outcome_for_error(action: Action, exc: KodoError, *, attempt: int, attempts: int,
                      result: Mapping[str, object] | None = None) -> Outcome:
    """``pending`` for a retryable error with attempts left, else ``failed`` keeping code and reqid."""
    if isinstance(exc, RetryableError) and attempt < attempts:
        return Outcome(action.id, "pending", code=exc.code, reqid=exc.reqid, message=exc.message)
    suffix = f" (after {attempt} attempts)" if isinstance(exc, RetryableError) and attempt > 1 else ""
    return Outcome(action.id, "failed", code=exc.code, reqid=exc.reqid, message=exc.message + suffix,
                   result=result or {})
