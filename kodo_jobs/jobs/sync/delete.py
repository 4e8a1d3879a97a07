"""Carry out a sync's delete phase: up to 1000 deletes (or soft deletes) in one rs batch.

Each key's answer in the batch is its own outcome: done, already gone (612: the goal is
reached), pending (a retryable answer: the executor tries the key again) or failed with its
code and request id. With ``soft_delete: {trash_prefix: ...}`` the planned ``trash_key`` moves
the object into the trash prefix instead; with ``soft_delete: {delete_after_days: N}`` Kodo is
told to expire it after N days instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.jobs import soft_delete
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.kodo import errors as kodo_errors

if TYPE_CHECKING:
    from kodo_jobs.manifest.spec_sync import SyncJob


def delete_batch(actions: Sequence[Action], ctx: JobContext[SyncJob]) -> list[Outcome]:
    """Delete (or soft-delete) up to 1000 objects in one rs batch; an already missing key counts as done."""
    if not actions:
        return []
    spec = ctx.spec
    bucket = str(spec.bucket)
    rs = ctx.client.rs
    batch_ops = []
    for a in actions:
        if "trash_key" in a.params:
            trash = soft_delete.resolve(str(a.params["trash_key"]), ctx.run_id)
            batch_ops.append(rs.ops.move(bucket, a.key, bucket, trash, force=True))
        elif "delete_after_days" in a.params:
            batch_ops.append(rs.ops.delete_after_days(bucket, a.key, int(a.params["delete_after_days"])))
        else:
            batch_ops.append(rs.ops.delete(bucket, a.key))
    for a in actions:
        ctx.events.file_started(a)
    try:
        results = rs.batch(batch_ops)
    finally:
        for a in actions:
            ctx.events.file_finished(a)
    outcomes: list[Outcome] = []
    for a, res in zip(actions, results, strict=True):
        if res.ok:
            outcomes.append(Outcome(a.id, "done"))
        elif res.code == 612:  # no such key: someone deleted it already; the goal is reached
            outcomes.append(Outcome(a.id, "done", message="already gone"))
        else:
            exc = res.exception
            if isinstance(exc, kodo_errors.RetryableError):
                outcomes.append(Outcome(a.id, "pending", code=res.code, reqid=res.reqid, message=res.message))
            else:
                outcomes.append(Outcome(a.id, "failed", code=res.code, reqid=res.reqid, message=res.message))
    return outcomes


__all__ = ["delete_batch"]
