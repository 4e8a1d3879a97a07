"""`kodo-jobs run MANIFEST`: load -> (plan -> execute) per job -> report.

Read the run in five files, in this order: this command (options checked, the pipeline
called, the report shown), :mod:`kodo_jobs.pipeline.load` (the manifest, the jobs, the state
file, the saved plan or shard), :mod:`kodo_jobs.pipeline.plan_job` (one job's actions into the
checkpoint), :mod:`kodo_jobs.pipeline.execute` (the lock, the jobs in ``needs`` order, the
executor) and :mod:`kodo_jobs.pipeline.report` (the account, the exit code).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kodo_jobs.errors import EXIT_OK, Interrupted, RunAborted, UsageError
from kodo_jobs.log import configure, get_logger
from kodo_jobs.pipeline.execute import RunResult, execute_run
from kodo_jobs.pipeline.limits import run_deadline
from kodo_jobs.pipeline.load import already_applied, check_saved_plan, load_run, new_run_id, state_file_errors
from kodo_jobs.pipeline.plan_job import dry_run as plan_dry_run
from kodo_jobs.pipeline.run_extras import RunExtras
from kodo_jobs.units import parse_positive_duration, parse_size

T = TypeVar("T")


def run(manifest: Path, *, dry_run: bool = False, concurrency: int | None = None, report_path: Path | None = None,
        plan_file: Path | None = None, shard: str | None = None, max_duration: str | None = None,
        max_bytes: str | None = None, jobs: list[str] | None = None, state: Path | None = None,
        log_format: str = "console", extras: RunExtras | None = None) -> int:
    """Carry out the manifest; returns the exit code (errors go through the boundary).

    ``extras``: metrics, progress lines and notify; the boundary calls its ``finish``."""
    configure(log_format)
    byte_budget = _option(max_bytes, "--max-bytes", parse_size)
    setup = load_run(manifest, jobs=jobs or [], state=state, shard=shard, plan_file=plan_file)
    if extras is not None:  # notify settings, job directions
        extras.loaded(setup.manifest, setup.specs)
    if setup.source.saved is not None:
        applied = already_applied(setup)
        if applied is not None:
            sys.stdout.write(f"kodo-jobs: nothing to do: {plan_file} was already applied ({applied}); "
                             "make a new plan with `kodo-jobs plan -o` for further changes\n")
            return EXIT_OK
        check_saved_plan(setup)  # a stale or untrusted plan changes nothing
    run_id = new_run_id()
    log = get_logger(run_id=run_id)
    stop = threading.Event()
    seconds = _option(max_duration, "--max-duration", parse_positive_duration)  # the manifest's parser
    timer = run_deadline(seconds, stop)
    try:
        with state_file_errors(setup.state_path):  # a damaged state file is exit 2 naming it, wherever it shows
            if dry_run:
                result = RunResult(plan_dry_run(setup, run_id, log))
            else:
                result = execute_run(setup, run_id=run_id, log=log, stop=stop, concurrency=concurrency,
                                     byte_budget=byte_budget, hooks=extras)
    finally:
        if timer is not None:
            timer.cancel()
    report = result.report
    if extras is not None:  # the report, for metrics and notify (also when an error is raised below)
        extras.reported(report)
    if result.error is not None:  # a job's refused plan: its own message and exit code, after the report
        report.render_text(sys.stdout)
        raise result.error
    if report_path is not None:
        report.write_json(report_path)
    report.render_text(sys.stdout)
    sys.stdout.flush()
    for job in report.jobs:
        if job.moved.payload or job.moved.wire:
            log.info("job bytes", job=job.name, payload_bytes=job.moved.payload, wire_bytes=job.moved.wire)
    log.info("run finished", status=report.status, exit_code=report.exit_code, changed=report.changed,
             payload_bytes=report.moved.payload, wire_bytes=report.moved.wire)
    if report.status == "interrupted":
        raise Interrupted("interrupted: state saved; run the same command again to resume")
    if report.status == "aborted":
        raise RunAborted(report.message)
    return report.exit_code


def _option(text: str | None, name: str, parse: Callable[[str], T]) -> T | None:
    """``--max-bytes 10GiB`` / ``--max-duration 30m`` parsed, or a UsageError naming the option."""
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError as exc:
        raise UsageError(f"{name} {text!r}: {exc}") from exc
