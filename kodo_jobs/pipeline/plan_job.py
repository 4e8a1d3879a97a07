"""Step 2 of the pipeline: one job's actions, planned by its kind (or read from a saved plan),
streamed into the checkpoint.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Any

from kodo_jobs.actions import Action, OpCount
from kodo_jobs.executor.checkpoint import Checkpoint
from kodo_jobs.jobs import KINDS
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.pipeline.shard import in_shard


def plan_job(spec: Any, ctx: JobContext, checkpoint: Checkpoint, *, gen: str,
             keep_done_of: Collection[str] = (), shard: tuple[int, int] | None = None,
             actions: Iterable[Action] | None = None, unchanged_rows: bool | None = None,
             rows_per_op: int | None = None) -> dict[str, OpCount]:
    """Stream one job's plan (or the given saved ``actions``) into ``checkpoint``; counts per op.

    ``unchanged_rows``: whether unchanged (``same``/``skip``) actions get a row each (to be
    listed: ``plan --all``/``--json``/``-o``) or are only counted. Default: rows in a dry run
    (``plan``, ``run --dry-run``), counts in a real run, which never lists them.

    ``rows_per_op``: keep only the first N actions of each op as rows and count the rest (the
    text ``plan`` shows 20 of each op; storing and reading back a row per file of a
    500,000-file plan to show 20 was most of its time). Only for a scratch checkpoint that is
    shown, never run.
    """
    source = actions if actions is not None else KINDS[spec.kind].plan(spec, ctx)
    if shard is not None:
        source = (a for a in source if in_shard(a.key, shard))
    if rows_per_op is not None:
        sample = _Sample(source, rows_per_op)
        checkpoint.store_plan(spec.name, sample, gen=gen, keep_done_of=keep_done_of, unchanged_rows=True)
        return sample.counts()
    return checkpoint.store_plan(spec.name, source, gen=gen, keep_done_of=keep_done_of,
                                 unchanged_rows=bool(ctx.dry_run) if unchanged_rows is None else unchanged_rows)


class _Sample:
    """The first ``limit`` actions of each op, passed on; every action counted (count, bytes)."""

    def __init__(self, actions: Iterable[Action], limit: int) -> None:
        self._actions = actions
        self._limit = limit
        self._counts: dict[str, list[int]] = {}

    def __iter__(self) -> Iterator[Action]:
        counts, limit = self._counts, self._limit
        for a in self._actions:
            c = counts.get(a.op)
            if c is None:
                c = counts[a.op] = [0, 0]
            c[0] += 1
            c[1] += a.size
            if c[0] <= limit:
                yield a

    def close(self) -> None:
        """Stop the planner (the checkpoint calls this when storing fails half-way)."""
        close = getattr(self._actions, "close", None)
        if close is not None:
            close()

    def counts(self) -> dict[str, OpCount]:
        return {op: OpCount(c[0], c[1]) for op, c in self._counts.items()}
