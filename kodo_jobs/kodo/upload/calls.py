"""One upload's requests, each retried on its own: a part, a block, an initiate, a complete.

Why per request: a chunked upload of a big file is thousands of requests, so a retry budget per
file (one failing part restarts the file's attempt) makes the biggest files the surest to fail,
and throws away the parts in flight. Here every request gets the job's whole
:class:`~kodo_jobs.kodo.retry.RetryPolicy` (backoff, jitter, Retry-After, error classes) and
its own host walk: each try goes to one host, and a try that failed for any reason but
throttling sends that request's next try to the next upload host (failover per part, while the
other parts stay where they are).

Bytes on the wire: a part's body goes to the transport as a :class:`CountedBody`, which counts
every block the transport takes from it, so a transport's own re-send (a keep-alive connection
found closed) counts as well; a form upload counts its file bytes once per try.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .. import errors
from ..retry import RetryPolicy, call_with_retries

T = TypeVar("T")
STOP_POLL = 0.1
"""Seconds between two looks at ``should_stop`` during a backoff."""
BLOCK = 1024 * 1024
"""Bytes a :class:`CountedBody` hands over at a time."""


class CountedBody:
    """A sized, re-iterable request body over ``data`` that reports each block the transport
    took (after it asked for the next one, so a block whose send failed is not counted)."""

    def __init__(self, data: bytes, on_wire: Callable[[int], None]) -> None:
        self._data = data
        self._on_wire = on_wire

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[memoryview]:
        view = memoryview(self._data)
        for offset in range(0, len(view), BLOCK):
            block = view[offset:offset + BLOCK]
            yield block
            self._on_wire(len(block))


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """A request of an upload is tried again: why, which try failed, the wait, which part."""

    error: errors.KodoError
    attempt: int
    wait: float
    part: int | None
    """Part (v2) or block (v1) number; None for initiate, complete, mkfile or a form upload."""


class UploadCalls:
    """The retrying request runner of one upload (thread-safe: parts call it concurrently)."""

    def __init__(self, hosts: Sequence[str], policy: RetryPolicy, *,
                 should_stop: Callable[[], bool] | None = None,
                 on_retry: Callable[[RetryNotice], None] | None = None,
                 on_wire: Callable[[int], None] | None = None) -> None:
        if not hosts:
            raise errors.BadRequest("no upload host configured")
        self.hosts = tuple(hosts)
        self.policy = policy
        self._should_stop = should_stop
        self._on_retry = on_retry
        self._on_wire = on_wire

    def body(self, data: bytes) -> bytes | CountedBody:
        """What to send for ``data``: a counting body when bytes on the wire are wanted."""
        return data if self._on_wire is None else CountedBody(data, self._on_wire)

    def stopping(self) -> bool:
        """Whether a stop was requested."""
        return self._should_stop is not None and self._should_stop()

    def call(self, send: Callable[[tuple[str, ...]], T], *, body: int = 0, part: int | None = None) -> T:
        """``send((host,))`` until it succeeds or the policy gives up (the last error is raised,
        with ``attempts`` set). ``body``: bytes each try puts on the wire, for a body that is not
        a :meth:`body` (which counts itself)."""
        host = 0

        def attempt(_n: int) -> T:
            nonlocal host
            try:
                return send((self.hosts[host % len(self.hosts)],))
            except errors.RetryableError as exc:
                if not isinstance(exc, errors.Throttled):  # throttling is not the host's fault
                    host += 1
                raise
            finally:
                if body and self._on_wire is not None:
                    self._on_wire(body)

        def on_retry(exc: BaseException, attempt_no: int, wait: float) -> None:
            if self._on_retry is not None and isinstance(exc, errors.KodoError):
                self._on_retry(RetryNotice(exc, attempt_no, wait, part))

        return call_with_retries(attempt, self.policy, on_retry=on_retry, wait=self._wait)

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless a stop is requested first (then True at once)."""
        deadline = time.monotonic() + seconds
        while True:
            if self.stopping():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, STOP_POLL))
