"""Daily CDN quotas as the fusion answers report them, and request chunking under per-request limits.

Pure and thread-safe: a :class:`QuotaBook` lives for one run. Each refresh or
prefetch answer says how much of the day's quota is left (``urlSurplusDay``,
``dirSurplusDay``, ``surplusDay``); the book remembers it so the next request sends only what
still fits, and once a quota is used up (or the service refuses with 400033/400034/400035) every
further action of that quota fails at once with a message that names the quota, instead of
hammering the service with requests that cannot succeed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

QUOTA_NAMES: dict[str, str] = {
    "refresh": "URL refresh",
    "refresh_dir": "directory refresh",
    "prefetch": "prefetch",
}
# answer fields per op: (daily quota, what is left of it)
_ANSWER_FIELDS: dict[str, tuple[str, str]] = {
    "refresh": ("urlQuotaDay", "urlSurplusDay"),
    "refresh_dir": ("dirQuotaDay", "dirSurplusDay"),
    "prefetch": ("quotaDay", "surplusDay"),
}


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items (``size`` >= 1)."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, not {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Quota:
    daily: int | None = None
    left: int | None = None  # None: unknown until the first answer
    exhausted: bool = False


class QuotaBook:
    """What is left of each daily quota, learnt from the answers during one run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._quotas: dict[str, _Quota] = {op: _Quota() for op in _ANSWER_FIELDS}

    def allowance(self, op: str, wanted: int) -> int:
        """How many of ``wanted`` items of ``op`` may be sent now (0 once the quota is used up)."""
        with self._lock:
            q = self._quotas[op]
            if q.exhausted:
                return 0
            return wanted if q.left is None else max(0, min(wanted, q.left))

    def record_answer(self, op: str, answer: Mapping[str, object], sent: int) -> None:
        """Learn the quota from a successful answer; without the fields, count down what was sent."""
        daily_field, left_field = _ANSWER_FIELDS[op]
        daily, left = answer.get(daily_field), answer.get(left_field)
        with self._lock:
            q = self._quotas[op]
            if isinstance(daily, int):
                q.daily = daily
            if isinstance(left, int):
                q.left = left
            elif q.left is not None:
                q.left = max(0, q.left - sent)
            if q.left is not None and q.left <= 0:
                q.exhausted = True

    def mark_exhausted(self, op: str) -> None:
        """The service refused for quota: nothing more of ``op`` is sent in this run."""
        with self._lock:
            q = self._quotas[op]
            q.exhausted = True
            q.left = 0

    def message(self, op: str) -> str:
        """The message every action refused for ``op``'s quota carries."""
        with self._lock:
            daily = self._quotas[op].daily
        size = f" of {daily}" if daily is not None else ""
        return (f"CDN daily {QUOTA_NAMES[op]} quota{size} is used up; not sent. "
                "Rerun tomorrow (finished items are not sent again) or ask Qiniu for a higher quota")

    def left(self, op: str) -> int | None:
        """What the last answer said is left (None before any answer)."""
        with self._lock:
            return self._quotas[op].left


class QuotaBooks:
    """One :class:`QuotaBook` per run (quotas are per account, so every CDN job of a run shares it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._books: dict[str, QuotaBook] = {}

    def get(self, run_id: str) -> QuotaBook:
        """The book of this run, created on first use; shared by the worker threads."""
        with self._lock:
            return self._books.setdefault(run_id, QuotaBook())
