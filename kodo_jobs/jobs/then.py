"""``then:`` on a sync job: follow-up work on exactly the objects the sync changed.

How the run command uses it (three calls, see ``commands/run.py``):

1. before a sync job with ``then:`` executes, it adds a :class:`ChangeRecorder` to the event
   bus; the recorder keeps the key of every ``upload``/``update``/``delete`` action that ends
   ``done``;
2. after the job, :func:`followups` turns those keys into ordinary job specs that run next
   with the same engine (retries, checkpoint, report): a ``cdn`` job ``<sync>.then-cdn`` that
   refreshes ``base_url`` + the URL-quoted key (quoted like the SDK: ``/`` kept, everything
   else percent-encoded) of each changed object, and/or a ``pfop`` job ``<sync>.then-pfop``
   over the uploaded (new or updated) keys;
3. after each follow-up job, :func:`job_ended`; when it ended ``ok`` its pending list is
   cleared.

The keys of a follow-up are kept in the checkpoint until that follow-up succeeds, so a refresh
refused today (quota) or interrupted is retried by the next run together with the new changes.
A key updated again is processed again: its remembered pfop result is forgotten.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.executor.events import Subscriber
from kodo_jobs.jobs.base import JobContext, StateView
from kodo_jobs.kodo.urls import public_url

if TYPE_CHECKING:
    from kodo_jobs.manifest.spec_cdn import CdnJob
    from kodo_jobs.manifest.spec_common import JobBase
    from kodo_jobs.manifest.spec_pfop import PfopJob
    from kodo_jobs.manifest.spec_sync import SyncJob

CHANGED_OPS = frozenset({"upload", "update", "delete"})
UPLOADED_OPS = frozenset({"upload", "update"})
CDN_SUFFIX = ".then-cdn"
PFOP_SUFFIX = ".then-pfop"


class ChangeRecorder(Subscriber):
    """Event subscriber that remembers the actions of one sync job that changed the bucket."""

    def __init__(self, job: str) -> None:
        self.job = job
        self._lock = threading.Lock()
        self.changes: list[tuple[str, str]] = []  # (op, key) in completion order

    def action_done(self, action: Action, outcome: Outcome) -> None:
        """Keep ``done`` uploads, updates and deletes of this job."""
        if action.job == self.job and outcome.status == "done" and action.op in CHANGED_OPS:
            with self._lock:
                self.changes.append((action.op, action.key))


def object_urls(base_url: str, keys: Iterable[str]) -> list[str]:
    """The CDN URL of each key: ``base_url`` + the key quoted as the SDK quotes it."""
    return [public_url(str(base_url), key) for key in keys]


def _pending_key(sync_job: str, what: str) -> str:
    return f"then\x1f{sync_job}\x1f{what}"


def _load(state: StateView, key: str) -> dict[str, str]:
    raw = state.get_value(key)
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        value = {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _merge(state: StateView, key: str, changes: dict[str, str]) -> dict[str, str]:
    """Pending (key -> op) of earlier runs plus this run's changes (the latest op wins)."""
    pending = _load(state, key)
    pending.update(changes)
    state.set_value(key, json.dumps(pending, sort_keys=True) if pending else None)
    return pending


def followups(spec: SyncJob, changes: Iterable[tuple[str, str]],
              ctx: JobContext[JobBase]) -> list[CdnJob | PfopJob]:
    """The follow-up job specs of sync ``spec`` for ``changes`` ((op, key) pairs); may be empty."""
    then = spec.then
    if then is None:
        return []
    from kodo_jobs.jobs.pfop import state_key as pfop_state_key  # the pfop kind: only for then.pfop
    from kodo_jobs.manifest.spec_cdn import CdnJob
    from kodo_jobs.manifest.spec_pfop import PfopJob

    latest: dict[str, str] = {}
    for op, key in changes:
        latest[key] = op
    common = {"concurrency": spec.concurrency, "retry": spec.retry.model_dump()}
    out: list[CdnJob | PfopJob] = []
    if then.cdn_refresh is not None:
        pending = _merge(ctx.state, _pending_key(spec.name, "cdn"), latest)
        if pending:
            urls = object_urls(str(then.cdn_refresh.base_url), sorted(pending))
            # one request at a time: few requests, and the quota is learnt before the next one
            out.append(CdnJob.model_validate({"name": spec.name + CDN_SUFFIX, "kind": "cdn",
                                              "refresh_urls": urls, **common, "concurrency": 1,
                                              "urls_per_request": then.cdn_refresh.urls_per_request}))
    if then.pfop is not None:
        uploaded = {k: op for k, op in latest.items() if op in UPLOADED_OPS}
        name = spec.name + PFOP_SUFFIX
        for key in uploaded:  # new content: an earlier result for this key no longer counts
            ctx.state.set_value(pfop_state_key(name, key), None)
        pending = _merge(ctx.state, _pending_key(spec.name, "pfop"), uploaded)
        if pending:
            p = then.pfop
            out.append(PfopJob.model_validate({
                "name": name, "kind": "pfop", "bucket": spec.bucket, "keys": sorted(pending), "fops": list(p.fops),
                "pipeline": p.pipeline, "notify_url": str(p.notify_url) if p.notify_url else None,
                "force": p.force, "type": p.type, **common}))
    return out


def job_ended(spec: JobBase, status: str, state: StateView) -> None:
    """After a follow-up job: forget its pending keys once it ended ``ok``."""
    for suffix, what in ((CDN_SUFFIX, "cdn"), (PFOP_SUFFIX, "pfop")):
        if spec.name.endswith(suffix) and status == "ok":
            state.set_value(_pending_key(spec.name[: -len(suffix)], what), None)
