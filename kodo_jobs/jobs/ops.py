"""The closed set of ops each job kind plans, as ``Literal`` types.

A kind's planner returns ``Action[SyncOp]`` (and so on), so mypy refuses an op the kind does not
have; its ``run`` matches on these names. What comes back from the checkpoint or a saved plan is
a plain ``Action`` (its op a ``str``): :mod:`kodo_jobs.jobs.plan_trust` and
:mod:`kodo_jobs.jobs.sync.trust` check a saved op against the job before it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:  # the manifest model names the batch operations; no pydantic import at run time
    from kodo_jobs.manifest.spec_batch import BatchOpName

NoChangeOp = Literal["same", "skip", "error"]
"""Recorded and counted, never executed (see :data:`kodo_jobs.actions.NO_CHANGE_OPS`)."""

SyncOp = Literal["upload", "update", "delete", "same", "skip", "error"]
"""``kind: sync`` uploading: see :mod:`kodo_jobs.jobs.sync.kind`."""

DownloadOp = Literal["download", "update", "delete", "same", "skip", "error"]
"""``kind: sync`` with ``direction: download``: see :mod:`kodo_jobs.jobs.sync.download`."""

BatchOp: TypeAlias = "BatchOpName | Literal['skip', 'error']"
"""``kind: batch``: its operation per key (:data:`~kodo_jobs.manifest.spec_batch.BatchOpName`, as
named in the manifest), or a skip or an error."""

FetchOp = Literal["fetch", "prefetch", "skip", "error"]
"""``kind: fetch``: a URL fetched into the bucket, or a mirrored key prefetched."""

PfopOp = Literal["pfop", "skip", "error"]
"""``kind: pfop``: fops submitted for one key."""

CdnOp = Literal["refresh", "refresh_dir", "prefetch", "report", "log", "skip"]
"""``kind: cdn``: refreshes and prefetches, a traffic report, a log file download."""
