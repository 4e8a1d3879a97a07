"""Step 2 of the pipeline: one job's actions, planned by its kind (or read from a saved plan),
streamed into the checkpoint.

:func:`plan_from` is what ``run`` calls right before a job runs (so a job that ``needs`` another
sees that job's effects): it takes the job's actions from the run's :class:`Source` - the kind's
planner, or the reviewed saved plan - keeps the shard's keys, and stores them with
:func:`plan_job`. ``plan`` and ``run --dry-run`` plan into a scratch checkpoint instead
(:func:`scratch_state`): nothing remote and nothing in the state file changes, except that newly
computed etags extend its hash cache. :func:`plan_manifest` is ``plan``'s whole plan and
:func:`dry_run` is ``run --dry-run``'s whole run.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action, OpCount
from kodo_jobs.errors import JobInputError
from kodo_jobs.executor.checkpoint import Checkpoint, ReadThroughState
from kodo_jobs.jobs import KINDS
from kodo_jobs.jobs.base import AnyContext, JobContext
from kodo_jobs.log import Logger, redact_text
from kodo_jobs.pipeline.load import RunSetup, Source, manifest_dir, manifest_sha
from kodo_jobs.pipeline.plan_render import JobPlan, Plan
from kodo_jobs.pipeline.report import JobReport, Report, build_job_report
from kodo_jobs.pipeline.shard import in_shard
from kodo_jobs.pipeline.targets import open_target, read_only_store

if TYPE_CHECKING:
    from kodo_jobs.kodo.client import KodoClient
    from kodo_jobs.manifest.models import AnyJob, Manifest


def plan_from(source: Source, spec: AnyJob, ctx: AnyContext, checkpoint: Checkpoint, *, gen: str,
              keep_done_of: Collection[str] = ()) -> dict[str, OpCount]:
    """Store ``spec``'s actions from ``source`` into ``checkpoint``: the saved plan's (checked, with
    local paths rebuilt from the job) when the source has one for this job, else the kind's plan."""
    saved: Iterable[Action] | None = None
    if source.saved is not None and spec.name in source.saved.jobs:
        from kodo_jobs.pipeline import saved_plan

        saved = saved_plan.trusted_actions(source.saved, spec)
    return plan_job(spec, ctx, checkpoint, gen=gen, keep_done_of=keep_done_of, shard=source.shard,
                    actions=saved, only_keys=source.only_keys)


def plan_job(spec: AnyJob, ctx: AnyContext, checkpoint: Checkpoint, *, gen: str,
             keep_done_of: Collection[str] = (), shard: tuple[int, int] | None = None,
             actions: Iterable[Action] | None = None, unchanged_rows: bool | None = None,
             only_keys: Collection[str] | None = None, rows_per_op: int | None = None) -> dict[str, OpCount]:
    """Stream one job's plan (or the given saved ``actions``) into ``checkpoint``; counts per op.

    ``unchanged_rows``: whether unchanged (``same``/``skip``) actions get a row each (to be
    listed: ``plan --all``/``-o``) or are only counted. Default: rows in a dry run
    (``plan``, ``run --dry-run``), counts in a real run, which never lists them.

    ``rows_per_op``: keep only the first N actions of each op as rows and count the rest (the
    text ``plan`` shows 20 of each op, a markdown plan 50; storing and reading back a row per
    file of a 500,000-file plan to show 20 was most of its time). Only for a scratch checkpoint
    that is shown, never run.
    """
    source = actions if actions is not None else KINDS[spec.kind].plan(spec, ctx)
    if shard is not None:
        source = (a for a in source if in_shard(a.key, shard))
    if only_keys is not None:
        source = (a for a in source if a.key in only_keys)
    if rows_per_op is not None:
        sample = _Sample(source, rows_per_op)
        checkpoint.store_plan(spec.name, sample, gen=gen, keep_done_of=keep_done_of, unchanged_rows=True)
        return sample.counts()
    return checkpoint.store_plan(spec.name, source, gen=gen, keep_done_of=keep_done_of,
                                 unchanged_rows=bool(ctx.dry_run) if unchanged_rows is None else unchanged_rows)


@dataclass(frozen=True)
class ScratchState:
    """Where a plan goes when nothing may change: a temporary checkpoint, beside the real state
    file (read for the hash cache and saved uc answers; None when there is none yet)."""

    scratch: Checkpoint
    real: Checkpoint | None

    def context(self, client: KodoClient, spec: AnyJob, log: Logger, manifest_dir: Path) -> AnyContext:
        """A dry-run context for ``spec``: hash cache read through to the real state file."""
        return JobContext(client=client, spec=spec, state=ReadThroughState(self.real), dry_run=True,
                          log=log.bind(job=spec.name), manifest_dir=manifest_dir, run_id="")


@contextmanager
def scratch_state(state_path: Path, *, prefix: str, create_real: bool) -> Iterator[ScratchState]:
    """A :class:`ScratchState` for one plan; both checkpoints are closed on exit.

    ``create_real``: open the real state file as a writer (``plan`` keeps the etags it computes)
    or only if it has a history (``run --dry-run``)."""
    real = Checkpoint(state_path, create=create_real) if state_path.exists() else None
    try:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            scratch = Checkpoint(Path(tmp) / "plan.kjstate")
            try:
                yield ScratchState(scratch, real)
            finally:
                scratch.close()
    finally:
        if real is not None:
            real.close()


def dry_run(setup: RunSetup, run_id: str, log: Logger) -> Report:
    """``run --dry-run``: plan every job into a scratch checkpoint and report what would happen."""
    started = time.time()
    with scratch_state(setup.state_path, prefix="kodo-jobs-dry-", create_real=False) as state, \
            open_target(setup.manifest.target, setup.manifest_dir, state=read_only_store(state.real)) as client:
        reports: list[JobReport] = []
        for spec in setup.specs:
            t0 = time.time()
            skip = setup.source.skip_reason(spec)
            if not spec.enabled:
                reports.append(JobReport(spec.name, spec.kind, "disabled", {}))
            elif skip:
                reports.append(JobReport(spec.name, spec.kind, "skipped", {}, note=skip))
            else:
                ctx = state.context(client, spec, log, setup.manifest_dir)
                plan_from(setup.source, spec, ctx, state.scratch, gen=run_id)
                reports.append(build_job_report(state.scratch, spec, "planned", time.time() - t0))
    return Report(str(setup.manifest_path), run_id, started, time.time(), "dry-run", tuple(reports), dry_run=True)


@dataclass(frozen=True)
class ManifestPlan:
    """``plan``'s result: the plan (its actions stream from the scratch checkpoint while the
    :func:`plan_manifest` block is open), and whether a job's own input was invalid (exit 2)."""

    plan: Plan
    invalid: bool


@contextmanager
def plan_manifest(manifest: Manifest, path: Path, specs: Iterable[AnyJob], state_path: Path, *,
                  unchanged_rows: bool, log: Logger, rows_per_op: int | None = None) -> Iterator[ManifestPlan]:
    """Plan every job of ``specs`` against the current remote state, changing nothing.

    A job whose own input is invalid (a missing source folder) gets the error as its note and the
    other jobs are still planned. Jobs are planned against today's bucket: a job that ``needs``
    another with changes says it is planned again when it runs. ``unchanged_rows``: list
    unchanged actions one by one (``plan --all``/``--json``/``-o``)."""
    mdir = manifest_dir(manifest, path)
    with scratch_state(state_path, prefix="kodo-jobs-plan-", create_real=True) as state:
        job_plans: list[JobPlan] = []
        invalid = False
        with open_target(manifest.target, mdir, state=read_only_store(state.real)) as client:
            for spec in specs:
                if not spec.enabled:
                    job_plans.append(JobPlan(spec.name, spec.kind, {}, note="disabled (enabled: false)"))
                    continue
                ctx = state.context(client, spec, log, mdir)
                try:
                    summary = plan_job(spec, ctx, state.scratch, gen="plan", unchanged_rows=unchanged_rows,
                                       rows_per_op=rows_per_op)
                except JobInputError as exc:
                    invalid = True
                    job_plans.append(JobPlan(spec.name, spec.kind, {}, note=redact_text(f"error: {exc}")))
                    continue
                job_plans.append(JobPlan(spec.name, spec.kind, summary, note=_needs_note(spec, job_plans)))
        scratch = state.scratch
        yield ManifestPlan(Plan(str(path), tuple(job_plans), lambda: scratch.iter_actions(),
                                manifest_sha=manifest_sha(path)), invalid)


def _needs_note(spec: AnyJob, planned: list[JobPlan]) -> str:
    """Say so when a job this one ``needs`` has changes in this plan (or could not be planned):
    this job's plan was made against today's bucket and is made again when it runs."""
    by_name = {j.name: j for j in planned}
    waiting = [n for n in spec.needs if n in by_name
               and (by_name[n].changes or by_name[n].note.startswith("error:"))]
    if not waiting:
        return ""
    return (f"planned again after {', '.join(waiting)} runs: this plan does not include "
            f"{'its' if len(waiting) == 1 else 'their'} changes")


__all__ = ["ManifestPlan", "ScratchState", "dry_run", "plan_from", "plan_job", "plan_manifest", "scratch_state"]


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
