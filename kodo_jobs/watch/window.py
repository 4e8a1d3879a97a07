"""Deletes over a rolling window: ``max_delete`` per batch is not enough for a watcher.

A folder emptied a few files at a time would pass a per-batch limit batch after batch; the
window sums the deletes made in the last ``seconds`` and gives the planner what is left of
``max_delete`` (resolved against the prefix's object count, like ``run``). Pure.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from kodo_jobs.manifest.types import Percent, resolve_limit


@dataclass
class DeleteWindow:
    """Deletes made in the last ``seconds`` for one job, and what ``max_delete`` still allows."""

    max_delete: int | Percent | None
    seconds: float
    _made: deque[tuple[float, int]] = field(default_factory=deque)

    def record(self, count: int, now: float) -> None:
        """``count`` objects were deleted at ``now``."""
        if count > 0:
            self._made.append((now, count))

    def made(self, now: float) -> int:
        """Deletes in the window ending at ``now``."""
        while self._made and self._made[0][0] <= now - self.seconds:
            self._made.popleft()
        return sum(n for _, n in self._made)

    def allowance(self, known_total: int, now: float) -> int | None:
        """Deletes still allowed now (None: ``max_delete`` is not set)."""
        limit = resolve_limit(self.max_delete, known_total)
        if limit is None:
            return None
        return max(0, limit - self.made(now))
