"""Retry policy: waits by class, Retry-After, attempts, stop, spec parsing."""

from __future__ import annotations

import random
import threading

import pytest

from kodo_jobs.executor.retry import RetryPolicy, call_with_retries, policy_from_spec
from kodo_jobs.kodo.errors import BadRequest, RequestTimeout, ServerError, Throttled, Unauthorized

P = RetryPolicy(attempts=5, initial_wait=1.0, max_wait=8.0, throttle_wait=10.0)


def test_exponential_with_jitter_capped() -> None:
    rng = random.Random(1)
    waits = [P.wait(ServerError("x", status=503), n, rng) for n in range(1, 7)]
    for n, w in enumerate(waits, start=1):
        cap = min(8.0, 2.0 ** (n - 1))
        assert cap * 0.5 <= w <= cap


def test_throttled_longer_and_retry_after() -> None:
    rng = random.Random(2)
    assert P.wait(Throttled("slow", status=573), 1, rng) >= 5.0
    assert P.wait(Throttled("slow", status=573, retry_after=42.0), 1, rng) >= 42.0
    assert P.wait(Throttled("slow", status=573, retry_after=10_000.0), 1, rng) <= 300.0


@pytest.mark.parametrize(("exc", "retry"), [
    (ServerError("x", status=599), True), (RequestTimeout("t"), True), (Throttled("t", status=573), True),
    (BadRequest("b", status=400), False), (Unauthorized("u", status=401), False), (ValueError("v"), False),
])
def test_retryable_by_class(exc: BaseException, retry: bool) -> None:
    assert P.retryable(exc) is retry


def test_call_with_retries_counts_and_gives_up() -> None:
    fast = RetryPolicy(attempts=3, initial_wait=0.001, max_wait=0.001, throttle_wait=0.001)
    calls: list[int] = []
    seen: list[tuple[int, float]] = []

    def fn() -> None:
        calls.append(1)
        raise ServerError("boom", status=503)

    with pytest.raises(ServerError):
        call_with_retries(fn, fast, on_retry=lambda e, n, w: seen.append((n, w)), stop=threading.Event())
    assert len(calls) == 3 and [n for n, _ in seen] == [1, 2]


def test_stop_ends_waiting() -> None:
    slow = RetryPolicy(attempts=10, initial_wait=60.0, max_wait=60.0, throttle_wait=60.0)
    stop = threading.Event()
    calls: list[int] = []

    def fn() -> None:
        calls.append(1)
        stop.set()
        raise ServerError("boom", status=503)

    with pytest.raises(ServerError):
        call_with_retries(fn, slow, on_retry=lambda *a: None, stop=stop)
    assert len(calls) == 1


def test_policy_from_spec_is_the_manifest_block() -> None:
    """One policy, built from the manifest: its defaults are the manifest model's."""
    from kodo_jobs.manifest import RetryPolicy as RetryBlock

    assert policy_from_spec(RetryBlock()) == RetryPolicy(attempts=6, initial_wait=0.5, max_wait=30.0,
                                                          throttle_wait=5.0)
    p = policy_from_spec(RetryBlock.model_validate({"attempts": 3, "max_wait": "2m", "initial_wait": "250ms"}))
    assert (p.attempts, p.max_wait, p.initial_wait, p.throttle_wait) == (3, 120.0, 0.25, 5.0)


def test_retry_after_of_any_retryable_answer_is_a_floor() -> None:
    """A 503 with Retry-After is honoured like a 573 with one (kodo/http.py sets both)."""
    from kodo_jobs.kodo.http import error_for_status

    exc = error_for_status(503, b"{}", {"Retry-After": "7"}, method="PUT", url="http://h/x")
    assert isinstance(exc, ServerError) and exc.retry_after == 7.0
    assert all(P.wait(exc, 1, random.Random(n)) >= 7.0 for n in range(20))
    plain = error_for_status(503, b"{}", {}, method="PUT", url="http://h/x")
    assert plain.retry_after is None  # type: ignore[attr-defined]


def test_gave_up_error_carries_its_attempts() -> None:
    fast = RetryPolicy(attempts=4, initial_wait=0.0, max_wait=0.0, throttle_wait=0.0)

    def fn() -> None:
        raise ServerError("boom", status=503)

    with pytest.raises(ServerError) as info:
        call_with_retries(fn, fast, on_retry=lambda *a: None, stop=threading.Event())
    assert info.value.attempts == 4


def test_a_stop_set_before_the_failure_means_no_further_try() -> None:
    stop = threading.Event()
    stop.set()
    calls: list[int] = []
    seen: list[int] = []

    def fn() -> None:
        calls.append(1)
        raise ServerError("boom", status=503)

    with pytest.raises(ServerError):
        call_with_retries(fn, P, on_retry=lambda e, n, w: seen.append(n), stop=stop)
    assert calls == [1] and seen == []
