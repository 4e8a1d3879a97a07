""":class:`ReadThroughState`: the StateView ``plan`` gives the jobs.

A plan may read everything and extend the hash cache (hashing is the costly part of a plan,
and its result is true whoever computed it), but never writes anything a run depends on:
upload sessions, job values, or a pruned cache (a plan walks the same tree the next run
walks, and the run prunes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kodo_jobs.executor.checkpoint.core import Checkpoint


class ReadThroughState:
    """StateView for ``plan``: reads and extends the hash cache, never touches upload sessions."""

    def __init__(self, checkpoint: Checkpoint | None) -> None:
        self._cp = checkpoint

    def etag_for(self, path: str, size: int, mtime_ns: int) -> str | None:
        """Cached etag, if there is a state file."""
        return self._cp.etag_for(path, size, mtime_ns) if self._cp else None

    def remember_etag(self, path: str, size: int, mtime_ns: int, etag: str) -> None:
        """Extend the hash cache (the one write a plan may do)."""
        if self._cp:
            self._cp.remember_etag(path, size, mtime_ns, etag)

    def prune_hash_cache(self, under: str, walked: Iterable[str], walked_count: int,
                         covers: Callable[[str], bool] | None = None) -> int:
        """A plan prunes nothing (the run that follows does); returns 0."""
        return 0

    def load_upload(self, action_id: str) -> str | None:
        """Upload sessions are visible (read-only)."""
        return self._cp.load_upload(action_id) if self._cp else None

    def get_value(self, key: str) -> str | None:
        """Stored values are visible (read-only)."""
        return self._cp.get_value(key) if self._cp else None

    def set_value(self, key: str, value: str | None) -> None:
        """A plan never stores values."""
        raise RuntimeError("plan is read-only: set_value called while planning")

    def save_upload(self, action_id: str, state_json: str) -> None:
        """A plan never uploads."""
        raise RuntimeError("plan is read-only: save_upload called while planning")

    def drop_upload(self, action_id: str) -> None:
        """A plan never uploads."""
        raise RuntimeError("plan is read-only: drop_upload called while planning")
