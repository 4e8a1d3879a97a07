"""A file still being written is not uploaded half-way: it waits until it has been quiet.

A touched file is *ready* when its modification time is at least ``debounce`` old and its
(size, mtime_ns) did not change since the gate last saw it; otherwise it waits and is looked
at again later. (The upload itself re-checks the file's fingerprint and re-plans a file that
changes while it is sent; this gate keeps that from being the common case.) Gone paths and
directories are always ready: their plan is a listing, not an upload.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

MAX_REMEMBERED = 10_000
"""Fingerprints kept for waiting files (beyond it the oldest are forgotten: they only wait longer)."""


@dataclass
class QuietGate:
    """Splits touched paths into ready and waiting ones (one gate per job)."""

    root: str
    debounce: float
    _seen: dict[str, tuple[int, int]] = field(default_factory=dict)

    def split(self, paths: frozenset[str], now_wall: float) -> tuple[frozenset[str], frozenset[str]]:
        """``(ready, waiting)``; ``now_wall`` is ``time.time()`` (compared with file mtimes)."""
        ready: set[str] = set()
        waiting: set[str] = set()
        for rel in paths:
            try:
                st = os.stat(os.path.join(self.root, rel))
            except OSError:
                ready.add(rel)
                self._seen.pop(rel, None)
                continue
            if not stat.S_ISREG(st.st_mode):
                ready.add(rel)
                continue
            fingerprint = (st.st_size, st.st_mtime_ns)
            before = self._seen.get(rel)
            if now_wall - st.st_mtime_ns / 1e9 < self.debounce or (before is not None and before != fingerprint):
                self._remember(rel, fingerprint)
                waiting.add(rel)
            else:
                self._seen.pop(rel, None)
                ready.add(rel)
        return frozenset(ready), frozenset(waiting)

    def _remember(self, rel: str, fingerprint: tuple[int, int]) -> None:
        self._seen.pop(rel, None)
        self._seen[rel] = fingerprint
        while len(self._seen) > MAX_REMEMBERED:
            del self._seen[next(iter(self._seen))]
