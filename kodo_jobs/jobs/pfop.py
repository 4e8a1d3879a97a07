"""``kind: pfop``: persistent processing of existing objects, submitted and (``wait: true``) awaited.

Plan: one ``pfop`` action per key (explicit keys, a keys file or a ``select``), with its fops
templated (:mod:`kodo_jobs.jobs.saveas`) so the plan shows exactly what will be sent.

The checkpoint remembers, per job and key, the persistent id of the last submission and how
it ended, together with a fingerprint of what was asked (fops, pipeline, type, workflow). A
rerun therefore never resubmits a job that succeeded (``skip``), keeps polling one that was
still running when the last run stopped (``params.persistent_id``), and resubmits only failed
ones or keys whose fops changed.

Run: submit every action of the call, then poll ``prefop`` until each job ends, sleeping
``poll_interval`` between rounds, up to ``timeout`` per call. Each outcome's ``result`` holds
the persistent id, the job code and per fop its command, code, output key and error. A job
that is still running at the timeout fails with a message saying the next run keeps waiting
for it without resubmitting. Code 4 (only the notifyURL call failed) counts as done, noted in
the result.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from kodo_jobs.actions import ERROR_OP, Action, Outcome
from kodo_jobs.jobs.base import JobContext, JobKind
from kodo_jobs.jobs.batch import key_sources
from kodo_jobs.jobs.ops import PfopOp
from kodo_jobs.jobs.saveas import expand_fops
from kodo_jobs.jobs.tries import Tries, max_attempts, outcome_for_error
from kodo_jobs.kodo.errors import KodoError, RunFatalError
from kodo_jobs.kodo.fop import NOTIFY_FAILED, SUCCEEDED, PfopStatus

if TYPE_CHECKING:
    from kodo_jobs.manifest.spec_common import JobBase
    from kodo_jobs.manifest.spec_pfop import PfopJob

_TRIES = Tries()


def state_key(job: str, key: str) -> str:
    """The checkpoint value that remembers the submission of ``key`` by ``job``."""
    return f"pfop\x1f{job}\x1f{key}"


def fingerprint(spec: PfopJob, fops: str) -> str:
    """What a submission asked for: a change of any of these means a new job."""
    parts = [spec.bucket, fops, spec.pipeline or "", str(spec.type), spec.workflow_template_id or ""]
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def _load(ctx: JobContext[JobBase], job: str, key: str) -> dict[str, object]:
    raw = ctx.state.get_value(state_key(job, key))
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _save(ctx: JobContext[JobBase], job: str, key: str, **value: object) -> None:
    ctx.state.set_value(state_key(job, key), json.dumps(value, sort_keys=True))


class PfopKind:
    """The ``pfop`` job kind."""

    kind = "pfop"
    batch_size = 50

    def plan(self, spec: PfopJob, ctx: JobContext[PfopJob]) -> Iterator[Action[PfopOp]]:
        """One ``pfop`` action per key; ``skip`` when an earlier run's job for it succeeded."""
        seen = [0]
        for key, size, _dest, line in key_sources(spec, ctx, seen):
            params: dict[str, object] = {} if line is None else {"line": line}
            try:
                expanded = expand_fops(spec.fops, spec.bucket, key) if spec.fops else None
            except ValueError as exc:
                yield Action(spec.name, ERROR_OP, key, size, 0, {**params, "message": str(exc)})
                continue
            fops = expanded.fop if expanded else ""
            fp = fingerprint(spec, fops)
            if expanded is not None:
                params["fops"] = fops
                if expanded.outputs:
                    params["outputs"] = [f"{b}:{k}" for b, k in expanded.outputs]
            params["fp"] = fp
            last = _load(ctx, spec.name, key)
            if last.get("fp") == fp and last.get("state") == "done":
                yield Action(spec.name, "skip", key, size, 0, {
                    **params, "persistent_id": last.get("id", ""), "reason": "succeeded in an earlier run"})
                continue
            if last.get("fp") == fp and last.get("state") == "submitted" and last.get("id"):
                params["persistent_id"] = last["id"]
            yield Action(spec.name, "pfop", key, size, 0, params)

    def run(self, actions: Sequence[Action], ctx: JobContext[PfopJob]) -> list[Outcome]:
        """Submit (or re-find) each job, then poll until all ended or the timeout."""
        spec = ctx.spec
        outcomes: dict[str, Outcome] = {}
        running: dict[str, tuple[Action, str]] = {}
        for action in actions:
            # the checkpoint, not the plan, is the truth: a retry within this run must find the
            # job submitted by the attempt before, not submit it again
            last = _load(ctx, spec.name, action.key)
            same = last.get("fp") == action.params.get("fp")
            pid = str(last.get("id") or "") if same and last.get("state") in ("submitted", "done") else ""
            if pid:
                status = self._status(ctx, action, pid, outcomes)
                if status is None:
                    continue
                if status.finished and not _ok(status):
                    pid = ""  # the earlier submission failed: submit again
                elif status.finished:
                    outcomes[action.id] = _finished(ctx, action, status)
                    continue
            if not pid:
                pid = self._submit(ctx, action, outcomes) or ""
                if not pid:
                    continue
            if not spec.wait:
                outcomes[action.id] = Outcome(action.id, "done", result={"persistent_id": pid, "waited": False})
                continue
            running[action.id] = (action, pid)
        self._poll(ctx, running, outcomes)
        return [outcomes[a.id] for a in actions]

    @staticmethod
    def _submit(ctx: JobContext[PfopJob], action: Action, outcomes: dict[str, Outcome]) -> str | None:
        spec = ctx.spec
        attempt = _TRIES.next(ctx.run_id, action.id)
        fops = action.params.get("fops")
        try:
            pid = ctx.client.fop.pfop(
                spec.bucket, action.key, [fops] if fops else None, pipeline=spec.pipeline,
                notify_url=str(spec.notify_url) if spec.notify_url else None, force=spec.force,
                persistent_type=spec.type or None, workflow_template_id=spec.workflow_template_id)
        except RunFatalError:
            raise
        except KodoError as exc:
            outcomes[action.id] = outcome_for_error(action, exc, attempt=attempt, attempts=max_attempts(spec))
            return None
        _save(ctx, spec.name, action.key, fp=action.params.get("fp", ""), id=pid, state="submitted")
        return str(pid)

    @staticmethod
    def _status(ctx: JobContext[PfopJob], action: Action, pid: str, outcomes: dict[str, Outcome]) -> PfopStatus | None:
        try:
            return ctx.client.fop.status(pid, ctx.spec.bucket)
        except RunFatalError:
            raise
        except KodoError as exc:
            attempt = _TRIES.next(ctx.run_id, action.id)
            outcomes[action.id] = outcome_for_error(action, exc, attempt=attempt, attempts=max_attempts(ctx.spec),
                                                    result={"persistent_id": pid})
            return None

    def _poll(self, ctx: JobContext[PfopJob], running: dict[str, tuple[Action, str]], outcomes: dict[str, Outcome]) -> None:
        spec = ctx.spec
        deadline = time.monotonic() + float(spec.timeout)
        # short jobs end in well under a second: poll soon, then back off up to poll_interval
        pause = min(0.1, float(spec.poll_interval))
        while running:
            for aid, (action, pid) in list(running.items()):
                status = self._status(ctx, action, pid, outcomes)
                if status is None:
                    del running[aid]
                elif status.finished:
                    outcomes[aid] = _finished(ctx, action, status)
                    del running[aid]
            if not running:
                return
            if ctx.stop_requested():
                for aid, (_action, pid) in running.items():
                    outcomes[aid] = Outcome(aid, "pending", message=f"interrupted while {pid} was running",
                                            result={"persistent_id": pid})
                return
            if time.monotonic() >= deadline:
                for aid, (_action, pid) in running.items():
                    outcomes[aid] = Outcome(aid, "failed", message=(
                        f"pfop {pid} still running after {spec.timeout:g}s (timeout); the next run keeps "
                        "waiting for it without resubmitting"), result={"persistent_id": pid})
                return
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, float(spec.poll_interval))


def _ok(status: PfopStatus) -> bool:
    return status.code in (SUCCEEDED, NOTIFY_FAILED) and all(i.code in (SUCCEEDED, NOTIFY_FAILED)
                                                             for i in status.items)


def _finished(ctx: JobContext[PfopJob], action: Action, status: PfopStatus) -> Outcome:
    """Record how a job ended and turn it into the action's outcome."""
    spec = ctx.spec
    items = [{"cmd": i.cmd, "code": i.code, **({"key": i.key} if i.key else {}),
              **({"error": i.error} if i.error else {})} for i in status.items]
    result: dict[str, object] = {"persistent_id": status.id, "code": status.code, "items": items}
    ok = _ok(status)
    _save(ctx, spec.name, action.key, fp=action.params.get("fp", ""), id=status.id,
          state="done" if ok else "failed")
    if ok:
        if status.code == NOTIFY_FAILED:
            result["note"] = "processing succeeded; the notifyURL call failed"
        return Outcome(action.id, "done", result=result)
    failing = next((i for i in status.items if i.code not in (SUCCEEDED, NOTIFY_FAILED)), None)
    reason = (failing.error or failing.desc) if failing else status.desc
    cmd = f" in {failing.cmd!r}" if failing else ""
    return Outcome(action.id, "failed", code=failing.code if failing else status.code,
                   message=f"pfop {status.id} failed{cmd}: {reason}", result=result)


KIND: JobKind[PfopJob] = PfopKind()
