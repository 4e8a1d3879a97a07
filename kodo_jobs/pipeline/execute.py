"""Step 3 of the pipeline: a planned job's actions carried out by the executor.

The executor knows actions, not kinds: this module binds a job kind's ``run`` and its batch
sizes and concurrency into the plain values the runner takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.jobs import KINDS
from kodo_jobs.jobs.base import AnyContext


def bind_run(spec: Any, ctx: AnyContext) -> Any:
    """The kind's ``run`` bound to ``ctx``, as the runner's plain callable."""
    kind = KINDS[spec.kind]

    def run(actions: Sequence[Action]) -> list[Outcome]:
        return kind.run(actions, ctx)

    return run


def batch_size(spec: Any) -> int:
    """The kind's batch size (1: one action per call)."""
    return max(1, int(getattr(KINDS[spec.kind], "batch_size", 1)))


def concurrency(spec: Any, override: int | None) -> int:
    """Workers for a job: ``--concurrency`` or the job's ``concurrency``, capped by the kind's
    optional ``max_concurrency`` (a kind whose calls must be sequential, e.g. to learn a quota
    from each answer, declares ``max_concurrency = 1``)."""
    wanted = override or int(getattr(spec, "concurrency", 4))
    cap = getattr(KINDS[spec.kind], "max_concurrency", None)
    return max(1, min(wanted, int(cap)) if cap else wanted)


def phase_batch_sizes(spec: Any) -> dict[int, int]:
    """Optional per-phase batch sizes a kind declares (``phase_batch_sizes = {1: 1000}``)."""
    sizes = getattr(KINDS[spec.kind], "phase_batch_sizes", None) or {}
    return {int(k): max(1, int(v)) for k, v in dict(sizes).items()}
