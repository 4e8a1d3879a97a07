"""Seeded fault injection: which requests fail, and how.

A ``FaultInjector`` draws one decision per (non-admin) request from ``random.Random(seed)``,
so the n-th request of a run always gets the same verdict for a given (rate, seed). Kinds:
503, 599, 573 (throttled, ``Retry-After: 1``), ``drop`` (the connection is closed without an
answer) and ``slow`` (sleep 0.5-2 s, then answer normally). Except for ``slow`` the decision
is taken before the handler runs, so a faulted request never changes state.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["503", "599", "573", "drop", "slow"]
KINDS: tuple[FaultKind, ...] = ("503", "599", "573", "drop", "slow")


@dataclass(frozen=True)
class Fault:
    """One injected fault; ``delay`` is the sleep of a ``slow`` fault, in seconds."""

    kind: FaultKind
    delay: float = 0.0

    @property
    def status(self) -> int:
        """HTTP status of an answering fault (503/599/573)."""
        return int(self.kind)


class FaultInjector:
    """Thread-safe seeded fault decisions; reconfigurable at run time."""

    def __init__(self, rate: float = 0.0, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.configure(rate, seed)

    def configure(self, rate: float, seed: int) -> None:
        """Restart the decision sequence with a new rate (0 turns faults off) and seed."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within 0..1")
        with self._lock:
            self.rate = rate
            self.seed = seed
            self._rng = random.Random(seed)

    def decide(self) -> Fault | None:
        """The verdict for the next request."""
        with self._lock:
            if self.rate <= 0.0:
                return None
            if self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(KINDS)
            delay = round(self._rng.uniform(0.5, 2.0), 3) if kind == "slow" else 0.0
            return Fault(kind, delay)
