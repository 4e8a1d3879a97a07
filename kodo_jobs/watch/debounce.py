"""Coalesce touched paths into batches, with bounded memory (pure, no I/O).

A batch is due once no event came for ``debounce`` seconds, or ``max_wait`` after its first
event (a file written without pause must not hold back every other change). The set of
touched paths is capped: past ``max_paths`` it is dropped and the batch becomes a full
re-plan, which covers every path anyway (a burst of 100k new files then costs one walk and
one listing, not 100k entries in memory). A lost-events signal does the same.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

MAX_PATHS = 5000
"""Touched paths kept per job before the batch collapses to a full re-plan."""


@dataclass(frozen=True)
class Batch:
    """One job's share of a batch: touched paths, or ``full`` (plan the whole tree)."""

    paths: frozenset[str] = frozenset()
    full: bool = False
    reasons: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.full or bool(self.paths)


@dataclass
class Collector:
    """Touched paths of one job, coalesced; thread-safe (the observer thread adds, the loop takes)."""

    debounce: float
    max_wait: float
    max_paths: int = MAX_PATHS
    _paths: set[str] = field(default_factory=set)
    _full: bool = False
    _reasons: list[str] = field(default_factory=list)
    _first: float | None = None
    _last: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    wake: threading.Event = field(default_factory=threading.Event)
    """Set on every change, so the loop can sleep until something happens."""

    def touch(self, rel: str, now: float) -> None:
        """``rel`` (source-relative, ``/`` separators) changed at ``now``."""
        with self._lock:
            if not self._full:
                self._paths.add(rel)
                if len(self._paths) > self.max_paths:
                    self._collapse(f"more than {self.max_paths} touched paths")
            self._stamp(now)
        self.wake.set()

    def lost(self, reason: str, now: float, *, urgent: bool = True) -> None:
        """Events may have been lost: the next batch is a full re-plan.

        ``urgent``: due at once (a lost event has no debounce to wait for)."""
        with self._lock:
            self._collapse(reason)
            self._stamp(now)
            if urgent:
                self._first = self._last = now - self.max_wait
        self.wake.set()

    def _collapse(self, reason: str) -> None:
        self._full = True
        self._paths.clear()
        if reason not in self._reasons and len(self._reasons) < 8:
            self._reasons.append(reason)

    def _stamp(self, now: float) -> None:
        if self._first is None:
            self._first = now
        self._last = now

    def due_at(self) -> float | None:
        """When the pending batch is due (None: nothing pending)."""
        with self._lock:
            if self._first is None or self._last is None:
                return None
            return min(self._last + self.debounce, self._first + self.max_wait)

    def take(self, now: float) -> Batch:
        """The pending batch if it is due (and forget it), else an empty one."""
        with self._lock:
            if self._first is None or self._last is None:
                return Batch()
            if now < min(self._last + self.debounce, self._first + self.max_wait):
                return Batch()
            batch = Batch(frozenset(self._paths), self._full, tuple(self._reasons))
            self._paths, self._full, self._reasons = set(), False, []
            self._first = self._last = None
            return batch

    @property
    def pending(self) -> int:
        """How many paths wait (for the log and tests)."""
        with self._lock:
            return len(self._paths)
