"""``upload_once: true``: a sync uploads each local file version at most once.

Why: a folder that *seeds* a bucket (fixtures, an examples bucket, a drop folder whose objects
other jobs then move, rename or delete) must not bring back, on every run, what those jobs took
away. Like qshell's ``qupload`` local record, the state file remembers, per key, the size and
mtime of the local file this job uploaded; while they are unchanged the key is ``skip``ped
whatever the bucket holds. An edited file (new size or mtime) is uploaded once more. The
option excludes ``delete: true`` (a mirror and a seed are different intents), checked by the
manifest model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.jobs.ops import SyncOp

if TYPE_CHECKING:
    from kodo_jobs.manifest.spec_sync import SyncJob

SENDS = frozenset({"upload", "update"})
"""The ops that send a file (the ones ``upload_once`` may skip)."""


def record_key(job: str, key: str) -> str:
    """The state value that remembers which local file version ``job`` uploaded to ``key``."""
    return f"once\x1f{job}\x1f{key}"


def _version(action: Action) -> str:
    return f"{action.size}:{action.params.get('mtime_ns', '')}"


def filtered(actions: Iterator[Action[SyncOp]], ctx: JobContext[SyncJob]) -> Iterator[Action[SyncOp]]:
    """The planned actions, with the sends of file versions already uploaded once made ``skip``."""
    for action in actions:
        if action.op in SENDS and ctx.state.get_value(record_key(action.job, action.key)) == _version(action):
            params = {k: v for k, v in action.params.items() if k in ("path", "mtime_ns")}
            yield Action(action.job, "skip", action.key, action.size,
                         params={**params, "reason": "uploaded once already (upload_once)"})
        else:
            yield action


def remember(action: Action, outcome: Outcome, ctx: JobContext[SyncJob]) -> None:
    """After a send: record the uploaded file version (only when it was done)."""
    if action.op in SENDS and outcome.status == "done":
        ctx.state.set_value(record_key(action.job, action.key), _version(action))
