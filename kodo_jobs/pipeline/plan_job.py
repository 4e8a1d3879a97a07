"""Step 2 of the pipeline: one job's actions, planned by its kind (or read from a saved plan),
streamed into the checkpoint.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from kodo_jobs.actions import Action, OpCount
from kodo_jobs.executor.checkpoint import Checkpoint
from kodo_jobs.jobs import KINDS
from kodo_jobs.jobs.base import AnyContext
from kodo_jobs.pipeline.shard import in_shard


def plan_job(spec: Any, ctx: AnyContext, checkpoint: Checkpoint, *, gen: str,
             keep_done_of: Collection[str] = (), shard: tuple[int, int] | None = None,
             actions: Iterable[Action] | None = None, unchanged_rows: bool | None = None) -> dict[str, OpCount]:
    """Stream one job's plan (or the given saved ``actions``) into ``checkpoint``; counts per op.

    ``unchanged_rows``: whether unchanged (``same``/``skip``) actions get a row each (to be
    listed: ``plan --all``/``--json``/``-o``) or are only counted. Default: rows in a dry run
    (``plan``, ``run --dry-run``), counts in a real run, which never lists them.
    """
    source = actions if actions is not None else KINDS[spec.kind].plan(spec, ctx)
    if shard is not None:
        source = (a for a in source if in_shard(a.key, shard))
    return checkpoint.store_plan(spec.name, source, gen=gen, keep_done_of=keep_done_of,
                                 unchanged_rows=bool(ctx.dry_run) if unchanged_rows is None else unchanged_rows)
