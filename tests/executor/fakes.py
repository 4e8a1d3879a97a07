"""A recording fake job kind for executor tests: scripted errors per key and attempt."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kodo_jobs.actions import Action, Outcome

Script = Callable[[Action, int], Outcome | BaseException | None]


@dataclass
class FakeKind:
    """Runs actions by calling ``script(action, attempt)``: an Outcome, an exception or None (done)."""

    script: Script | None = None
    batch_size: int = 1
    calls: list[list[str]] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_call: Callable[[Sequence[Action]], None] | None = None

    def run(self, actions: Sequence[Action]) -> list[Outcome]:
        with self.lock:
            self.calls.append([a.key for a in actions])
        if self.on_call:
            self.on_call(actions)
        out: list[Outcome] = []
        for a in actions:
            with self.lock:
                n = self.attempts[a.key] = self.attempts.get(a.key, 0) + 1
            r = self.script(a, n) if self.script else None
            if isinstance(r, BaseException):
                raise r
            out.append(r if r is not None else Outcome(a.id, "done", bytes=a.size))
        return out


def actions(job: str, n: int, op: str = "upload", phase: int = 0, size: int = 10) -> list[Action]:
    """``n`` actions with keys k00000..."""
    return [Action(job=job, op=op, key=f"k{i:05d}", size=size, phase=phase, params={"i": i}) for i in range(n)]
