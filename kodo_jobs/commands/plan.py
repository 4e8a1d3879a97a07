"""`kodo-jobs plan MANIFEST`: what `run` would do, changing nothing.

Every selected job is planned into a scratch checkpoint (a temporary SQLite file), so a plan
of 200k actions is counted and then streamed out without living in memory. The real state
file is only read, except that newly computed etags extend its hash cache (which makes the
next plan or run faster and changes nothing remote). Jobs are planned against the current
remote state: a job that ``needs`` another does not see that job's effects here, so when a job
it needs has changes in this plan, its note says it is planned again when it runs. A job whose
own input is invalid (a missing source folder) is shown with the error as its note, the other
jobs are still planned, and the command exits 2.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from kodo_jobs.actions import NO_CHANGE_OPS
from kodo_jobs.errors import EXIT_CHANGES, EXIT_INVALID, EXIT_OK, JobInputError
from kodo_jobs.executor.checkpoint import Checkpoint, ReadThroughState, state_file_errors
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.kodo.hosts import ReadOnlyStore
from kodo_jobs.log import configure, get_logger, redact_text
from kodo_jobs.pipeline import saved_plan
from kodo_jobs.pipeline.load import default_state_path, load_manifest, manifest_dir, manifest_sha, select_jobs
from kodo_jobs.pipeline.plan_job import plan_job
from kodo_jobs.pipeline.plan_render import FOLD_AFTER, JobPlan, Plan, render_text, write_json
from kodo_jobs.pipeline.targets import open_target


def plan(manifest: Path, *, as_json: bool = False, show_all: bool = False, out: Path | None = None,
         detailed_exit: bool = False, jobs: list[str] | None = None, state: Path | None = None,
         log_format: str = "console") -> int:
    """Plan and print; exit 4 with ``--exit-code`` when something would change."""
    configure(log_format)
    m = load_manifest(manifest)
    specs = select_jobs(m, jobs or [])
    state_path = (state or default_state_path(manifest)).resolve()
    with state_file_errors(state_path):  # a damaged state file is exit 2 naming it, wherever it shows
        return _plan(m, manifest, specs, state_path, as_json=as_json, show_all=show_all, out=out,
                     detailed_exit=detailed_exit)


def _plan(m: Any, manifest: Path, specs: list[Any], state_path: Path, *, as_json: bool, show_all: bool,
          out: Path | None, detailed_exit: bool) -> int:
    mdir = manifest_dir(m, manifest)
    log = get_logger()
    real = Checkpoint(state_path) if state_path.exists() else None
    with tempfile.TemporaryDirectory(prefix="kodo-jobs-plan-") as tmp:
        scratch = Checkpoint(Path(tmp) / "plan.kjstate")
        try:
            job_plans: list[JobPlan] = []
            invalid = False
            with open_target(m.target, mdir, state=ReadOnlyStore(real)) as client:
                for spec in specs:
                    if not getattr(spec, "enabled", True):
                        job_plans.append(JobPlan(spec.name, spec.kind, {}, note="disabled (enabled: false)"))
                        continue
                    ctx = JobContext(client=client, spec=spec, state=ReadThroughState(real), dry_run=True,
                                     log=log.bind(job=spec.name), manifest_dir=mdir)
                    try:
                        # a row per unchanged file only when something lists them (--all, -o);
                        # the text plan keeps only the rows it shows
                        summary = plan_job(spec, ctx, scratch, gen="plan", unchanged_rows=show_all or out is not None,
                                           rows_per_op=None if as_json or show_all or out is not None else FOLD_AFTER)
                    except JobInputError as exc:
                        invalid = True
                        job_plans.append(JobPlan(spec.name, spec.kind, {}, note=redact_text(f"error: {exc}")))
                        continue
                    job_plans.append(JobPlan(spec.name, spec.kind, summary, note=_needs_note(spec, job_plans)))
            the_plan = Plan(str(manifest), tuple(job_plans), lambda: scratch.iter_actions(),
                            manifest_sha=manifest_sha(manifest))
            if out is not None:
                with out.open("w", encoding="utf-8") as f:
                    write_json(replace(the_plan, saved_header=saved_plan.header()), f)
            _render(the_plan, sys.stdout, as_json=as_json, show_all=show_all)
        finally:
            scratch.close()
            if real is not None:
                real.close()
    if invalid:
        return EXIT_INVALID
    return EXIT_CHANGES if detailed_exit and the_plan.changes else EXIT_OK


def _needs_note(spec: object, planned: list[JobPlan]) -> str:
    """Say so when a job this one ``needs`` has changes in this plan (or could not be planned):
    this job's plan was made against today's bucket and is made again when it runs."""
    by_name = {j.name: j for j in planned}
    waiting = [n for n in getattr(spec, "needs", ()) if n in by_name
               and (by_name[n].changes or by_name[n].note.startswith("error:"))]
    if not waiting:
        return ""
    return (f"planned again after {', '.join(waiting)} runs: this plan does not include "
            f"{'its' if len(waiting) == 1 else 'their'} changes")


def _render(the_plan: Plan, stream: IO[str], *, as_json: bool, show_all: bool) -> None:
    if as_json:
        if not show_all:  # unchanged files are counted in the summary, listed with --all
            stored = the_plan.actions
            the_plan = replace(the_plan, actions=lambda: (a for a in stored() if a.op not in NO_CHANGE_OPS))
        write_json(the_plan, stream)
    else:
        render_text(the_plan, stream, show_all=show_all)
    stream.flush()
