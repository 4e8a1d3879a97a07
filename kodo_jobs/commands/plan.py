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
from dataclasses import replace
from pathlib import Path
from typing import IO

from kodo_jobs.actions import NO_CHANGE_OPS
from kodo_jobs.errors import EXIT_CHANGES, EXIT_INVALID, EXIT_OK
from kodo_jobs.log import configure, get_logger
from kodo_jobs.pipeline import saved_plan
from kodo_jobs.pipeline.load import default_state_path, load_manifest, select_jobs, state_file_errors
from kodo_jobs.pipeline.plan_job import plan_manifest
from kodo_jobs.pipeline.plan_markdown import PER_OP
from kodo_jobs.pipeline.plan_render import FOLD_AFTER, Plan, render_text, write_json


def plan(manifest: Path, *, as_json: bool = False, show_all: bool = False, out: Path | None = None,
         detailed_exit: bool = False, jobs: list[str] | None = None, state: Path | None = None,
         log_format: str = "console", markdown: bool = False) -> int:
    """Plan and print; exit 4 with ``--exit-code`` when something would change.

    ``markdown``: a pull-request comment (``--format markdown``, pipeline/plan_markdown.py)."""
    configure(log_format)
    m = load_manifest(manifest)
    specs = select_jobs(m, jobs or [])
    state_path = (state or default_state_path(manifest)).resolve()
    # a row per unchanged file only when something lists them (--all, -o); the text and markdown
    # plans keep only the rows they show, JSON without --all lists the changes only
    listed = show_all or out is not None
    shown = None if listed or as_json else (PER_OP if markdown else FOLD_AFTER)
    with state_file_errors(state_path), \
            plan_manifest(m, manifest, specs, state_path, unchanged_rows=listed, log=get_logger(),
                          rows_per_op=shown) as result:
        if out is not None:
            with out.open("w", encoding="utf-8") as f:
                write_json(replace(result.plan, saved_header=saved_plan.header()), f)
        if markdown:
            from kodo_jobs.pipeline.plan_markdown import render_markdown

            render_markdown(result.plan, sys.stdout)
            sys.stdout.flush()
        else:
            _render(result.plan, sys.stdout, as_json=as_json, show_all=show_all)
    if result.invalid:
        return EXIT_INVALID
    return EXIT_CHANGES if detailed_exit and result.plan.changes else EXIT_OK


def _render(the_plan: Plan, stream: IO[str], *, as_json: bool, show_all: bool) -> None:
    if as_json:
        if not show_all:  # unchanged files are counted in the summary, listed with --all
            stored = the_plan.actions
            the_plan = replace(the_plan, actions=lambda: (a for a in stored() if a.op not in NO_CHANGE_OPS))
        write_json(the_plan, stream)
    else:
        render_text(the_plan, stream, show_all=show_all)
    stream.flush()
