"""Issue 15 item 14: one retry policy, built from the manifest, used everywhere.

The sync listing used to have its own backoff (no jitter, Retry-After ignored); the executor,
the kinds' attempt counting and the uploads now all get the policy of :func:`policy_for`.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from kodo_jobs.errors import RunAborted
from kodo_jobs.executor.retry import policy_from_spec
from kodo_jobs.jobs.sync.pairs import _page_fetch
from kodo_jobs.jobs.tries import max_attempts, policy_for
from kodo_jobs.kodo.errors import ServerError, Throttled
from kodo_jobs.kodo.retry import RetryPolicy
from kodo_jobs.kodo.rsf import ListPage
from kodo_jobs.manifest import RetryPolicy as RetryBlock
from kodo_jobs.manifest.spec_cdn import CdnJob

PAGE = ListPage(entries=(), common_prefixes=(), marker="")


class RecordingStop(threading.Event):
    """A stop event that never stops; records each wait instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        if timeout:  # the loop also asks wait(0): "was a stop requested?"
            self.waits.append(float(timeout))
        return False


def _fetch(errors: list[Exception], retry: RetryBlock) -> tuple[Any, list[int]]:
    calls: list[int] = []

    def page(bucket: str, *, prefix: str, marker: str) -> ListPage:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return PAGE

    ctx = SimpleNamespace(client=SimpleNamespace(rsf=SimpleNamespace(page=page)), log=None)
    spec = SimpleNamespace(bucket="b", retry=retry)
    return _page_fetch(ctx, spec, "job", "p/"), calls  # type: ignore[arg-type]


def test_listing_honours_retry_after() -> None:
    fetch, calls = _fetch([Throttled("slow down", status=573, retry_after=7.0)],
                          RetryBlock.model_validate({"initial_wait": "10ms", "throttle_wait": "10ms"}))
    stop = RecordingStop()
    assert fetch("", stop) == PAGE
    assert len(calls) == 2 and len(stop.waits) == 1 and stop.waits[0] >= 7.0


def test_listing_backoff_has_jitter() -> None:
    waits: set[float] = set()
    for _ in range(8):
        fetch, _calls = _fetch([ServerError("boom", status=503)], RetryBlock())
        stop = RecordingStop()
        fetch("", stop)
        assert 0.25 <= stop.waits[0] <= 0.5  # initial_wait 0.5s, jittered down to half
        waits.add(stop.waits[0])
    assert len(waits) > 1


def test_listing_gives_up_after_the_policys_attempts() -> None:
    fetch, calls = _fetch([ServerError("boom", status=503) for _ in range(10)],
                          RetryBlock.model_validate({"attempts": 3}))
    with pytest.raises(RunAborted, match=r"after 3 attempt\(s\)"):
        fetch("", RecordingStop())
    assert len(calls) == 3


def test_one_builder_and_the_manifest_defaults() -> None:
    block = RetryBlock.model_validate({"attempts": 4, "max_wait": "2s"})
    spec = SimpleNamespace(retry=block)
    assert policy_for(spec) == policy_from_spec(block) == RetryPolicy(4, 0.5, 2.0, 5.0)
    assert max_attempts(spec) == 4
    # a spec without a retry block (a job built in code) gets the manifest's defaults
    built = CdnJob.model_validate({"name": "j.then-cdn", "kind": "cdn", "refresh_urls": ["https://cdn.example.com/k"]})
    assert policy_for(built) == policy_from_spec(RetryBlock()) == RetryPolicy(6, 0.5, 30.0, 5.0)
