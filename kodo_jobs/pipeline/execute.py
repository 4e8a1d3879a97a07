"""Step 3 of the pipeline: the jobs carried out, one after the other, each planned right before it runs.

:func:`execute_run` is the whole real run of a :class:`~kodo_jobs.pipeline.load.RunSetup`: the
state file's lock, the checkpoint's run record, the client, then :func:`run_jobs` and the
finished :class:`~kodo_jobs.pipeline.report.Report`. :func:`run_jobs` walks the jobs in ``needs``
order: a job whose needs did not end ``ok`` is skipped; each job is planned (:func:`plan_from`,
retried by the job's policy) and its pending actions run by the executor inside the job's
:class:`~kodo_jobs.pipeline.limits.JobLimits`; a sync's ``then:`` follow-up jobs run right after
it. A rerun of the same manifest (same fingerprint) resumes: actions recorded ``done`` are not
redone, unfinished chunked uploads continue from their saved session.

The executor knows actions, not kinds: :func:`bind_run`, :func:`batch_size`,
:func:`concurrency` and :func:`phase_batch_sizes` turn a job kind into the plain values the
runner takes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.errors import JobInputError, KodoJobsError, RunAborted
from kodo_jobs.executor.checkpoint import Checkpoint
from kodo_jobs.executor.events import EventBus, Subscriber
from kodo_jobs.executor.lock import RunLock
from kodo_jobs.executor.progress import maybe_progress
from kodo_jobs.executor.retry import call_with_retries
from kodo_jobs.executor.runner import JobRun, Runner
from kodo_jobs.executor.signals import stop_on_signals
from kodo_jobs.jobs import KINDS, then
from kodo_jobs.jobs.base import AnyContext, JobContext
from kodo_jobs.jobs.tries import policy_for
from kodo_jobs.kodo.errors import KodoError, RunFatalError
from kodo_jobs.log import Logger
from kodo_jobs.pipeline import saved_plan
from kodo_jobs.pipeline.clock import ClockReading, watch_clock
from kodo_jobs.pipeline.limits import JobLimits, StopAfterBytes
from kodo_jobs.pipeline.load import RunSetup, Source, manifest_sha
from kodo_jobs.pipeline.plan_job import plan_from
from kodo_jobs.pipeline.report import (
    JobReport,
    JobStatus,
    Report,
    ResultsCollector,
    RunStatus,
    build_job_report,
    fatal_message,
)
from kodo_jobs.pipeline.targets import describe_target, open_target

if TYPE_CHECKING:
    from kodo_jobs.kodo.client import KodoClient
    from kodo_jobs.manifest.models import AnyJob


@dataclass(frozen=True)
class RunResult:
    """What :func:`execute_run` returns: the report, and the error that ends the run with its own
    exit code (a job's refused plan, e.g. ``max_delete``), raised by the caller after showing
    the report."""

    report: Report
    error: KodoJobsError | None = None


class RunHooks(Protocol):
    """What a run shows an observer beside its report: the event bus and the client."""

    def subscribers(self) -> Sequence[Subscriber]:
        """Subscribers to add to the run's event bus."""
        ...

    def watch(self, client: KodoClient) -> None:
        """Called once with the run's client, before any job runs."""
        ...


def execute_run(setup: RunSetup, *, run_id: str, log: Logger, stop: threading.Event,
                concurrency: int | None = None, byte_budget: int | None = None, lock: RunLock | None = None,
                handle_signals: bool = True, hooks: RunHooks | None = None) -> RunResult:
    """Carry out ``setup``'s jobs; the checkpoint records every outcome, the run and its report.

    The seam for a long-lived caller (``watch``): pass the :class:`RunLock` it already holds as
    ``lock`` (it is neither taken nor released here), its own ``stop`` event, ``handle_signals=
    False`` when it installs its own SIGINT/SIGTERM handling, and a setup whose
    ``source.only_keys`` restricts the batch to the keys it saw change. Each call is one run of
    the checkpoint (its own run id and report). ``hooks`` lets the operator's extras (metrics,
    progress lines: :class:`kodo_jobs.pipeline.run_extras.RunExtras`) see the run's events and client.
    """
    started = time.time()
    bus = EventBus(maybe_progress())
    if byte_budget is not None:
        bus.subscribers.append(StopAfterBytes(byte_budget, stop))
    if hooks is not None:  # progress lines, retry counters
        bus.subscribers.extend(hooks.subscribers())
    with ExitStack() as held:
        if lock is None:
            lock = held.enter_context(RunLock(setup.state_path))
        cp = held.enter_context(Checkpoint(setup.state_path))
        if lock.taken_over:
            log.warning("took over the lock of a run that is gone", previous=lock.taken_over)
        sha = manifest_sha(setup.manifest_path)
        resume = cp.unfinished_runs(sha)
        if resume:
            log.info("resuming unfinished runs", previous_runs=resume)
        cp.begin_run(run_id, sha, [s.name for s in setup.specs], dry_run=False)
        result = JobsResult("ok", (), "")
        clock_reading: ClockReading | None = None
        try:
            with _signals(stop, handle_signals), \
                    open_target(setup.manifest.target, setup.manifest_dir, state=cp) as client:
                clock_reading = watch_clock(client, log)  # first answer's Date: report, widen deadlines on skew
                if hooks is not None:  # e.g. count throttled answers
                    hooks.watch(client)
                jobs = JobsRun(client=client, checkpoint=cp, bus=bus, stop=stop, run_id=run_id, setup=setup,
                               resume=tuple(resume), concurrency=concurrency, log=log,
                               runner=Runner(cp, run_id=run_id, events=bus, stop=stop, log=log))
                result = run_jobs(setup.specs, jobs)
        except KeyboardInterrupt:  # outside the jobs (while they run: see run_jobs); ended jobs are kept
            result = JobsResult("interrupted", result.reports, "interrupted")
        finally:
            bus.close()
            cp.flush()
        report = Report(str(setup.manifest_path), run_id, started, time.time(), result.status, result.reports,
                        message=result.message,
                        extra={"clock": clock_reading.to_json()} if clock_reading is not None else {},
                        invalid_input=any(r.invalid_input for r in result.reports))
        cp.end_run(run_id, result.status, report.to_json())
        if result.status == "ok" and setup.source.saved is not None:
            cp.set_value(saved_plan.APPLIED_PREFIX + setup.source.saved_sha,
                         f"by run {run_id} at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
        return RunResult(report, result.error)


@contextmanager
def _signals(stop: threading.Event, handle: bool) -> Iterator[None]:
    if not handle:
        yield
        return
    with stop_on_signals(stop):
        yield


@dataclass(frozen=True)
class JobsRun:
    """What every job of one run shares: the client, the checkpoint, the event bus, the stop
    event and the executor."""

    client: KodoClient
    checkpoint: Checkpoint
    runner: Runner
    bus: EventBus
    stop: threading.Event
    run_id: str
    setup: RunSetup
    resume: tuple[str, ...]
    """Unfinished earlier runs of the same manifest: their done actions are kept."""
    concurrency: int | None
    """``--concurrency``: overrides every job's own."""
    log: Logger

    @property
    def source(self) -> Source:
        """Where the jobs' actions come from."""
        return self.setup.source


@dataclass(frozen=True)
class JobsResult:
    """How the jobs went: the run's status, each job's report, the run's message, and the error
    that ends the run with its own exit code (see :class:`RunResult`)."""

    status: RunStatus
    reports: tuple[JobReport, ...]
    message: str = ""
    error: KodoJobsError | None = None


@dataclass(frozen=True)
class JobEnd:
    """How one job ended: its report, the follow-up jobs to run next, whether its own run window
    stopped it, and whether the whole run ends here (``ends_run``: aborted or failed)."""

    report: JobReport
    followups: tuple[AnyJob, ...] = ()
    windowed: bool = False
    ends_run: bool = False
    message: str = ""
    error: KodoJobsError | None = None


def run_jobs(specs: Sequence[AnyJob], run: JobsRun) -> JobsResult:
    """Run ``specs`` in order (follow-up jobs right after the job that made them); a job whose
    ``needs`` did not end ``ok`` is skipped, and so is every job after a stop."""
    statuses: dict[str, JobStatus] = {}
    windowed: list[str] = []  # jobs stopped by their own max_duration/max_bytes
    reports: list[JobReport] = []
    work = deque(specs)
    try:
        while work:
            spec = work.popleft()
            skipped = _not_run(spec, statuses, windowed, run)
            if skipped is not None:
                reports.append(skipped.report)
                if skipped.status is not None:
                    statuses[spec.name] = skipped.status
                if skipped.windowed:
                    windowed.append(spec.name)
                continue
            end = run_job(spec, run)
            statuses[spec.name] = end.report.status
            reports.append(end.report)
            if end.ends_run:
                return JobsResult("aborted" if end.report.status == "aborted" else "failed", tuple(reports),
                                  end.message, end.error)
            if end.windowed:
                windowed.append(spec.name)
            work.extendleft(reversed(end.followups))
    except KeyboardInterrupt:  # the reports of the jobs that ended are kept
        return JobsResult("interrupted", tuple(reports), "interrupted")
    if run.stop.is_set():
        return JobsResult("interrupted", tuple(reports))
    if any(s in ("failed", "skipped") for s in statuses.values()):
        return JobsResult("failed", tuple(reports))
    if windowed:
        return JobsResult("interrupted", tuple(reports),
                          f"stopped by the run window of {', '.join(windowed)}; run again to continue")
    return JobsResult("ok", tuple(reports))


@dataclass(frozen=True)
class _Skipped:
    report: JobReport
    status: JobStatus | None
    """What the jobs that need this one see (None: as if it were not selected)."""
    windowed: bool = False


def _not_run(spec: AnyJob, statuses: Mapping[str, JobStatus], windowed: Sequence[str],
             run: JobsRun) -> _Skipped | None:
    """Why ``spec`` does not run now (None: it runs): disabled, outside the saved plan, a need
    that did not succeed, or the run was stopped."""
    if not spec.enabled:
        return _Skipped(JobReport(spec.name, spec.kind, "disabled", {}, note="enabled: false"), "disabled")
    bad_needs = [n for n in spec.needs if n in statuses and statuses[n] != "ok"]
    skip = run.source.skip_reason(spec)
    if not (bad_needs or run.stop.is_set() or skip):
        return None
    if not (bad_needs or run.stop.is_set()):
        # outside the saved plan: like a job not selected with --job, not a failure
        return _Skipped(JobReport(spec.name, spec.kind, "skipped", {}, note=f"skipped: {skip}"), None)
    note = (f"skipped: needs {', '.join(bad_needs)} did not succeed" if bad_needs
            else "not started: the run was stopped")
    run.checkpoint.clear_job(spec.name)
    run.log.bind(job=spec.name).warning("job skipped", reason=note)
    report = JobReport(spec.name, spec.kind, "skipped", {}, note=note)
    # waiting only for jobs stopped by their run window: not a failure, continued next run
    if bad_needs and set(bad_needs) <= set(windowed):
        return _Skipped(report, "interrupted", windowed=True)
    return _Skipped(report, "skipped")


def run_job(spec: AnyJob, run: JobsRun) -> JobEnd:
    """Plan ``spec`` (retried by its policy) and run its pending actions within its limits."""
    t0 = time.time()
    log = run.log.bind(job=spec.name)
    cp = run.checkpoint
    ctx = JobContext(client=run.client, spec=spec, state=cp, events=run.bus, dry_run=False,
                     stop_requested=run.stop.is_set, log=log, manifest_dir=run.setup.manifest_dir,
                     run_id=run.run_id)
    policy = policy_for(spec)

    def report(status: JobStatus, note: str = "", *, counted: bool = True) -> JobReport:
        return build_job_report(cp, spec, status, time.time() - t0, note=note,
                                moved=run.runner.moved if counted else None)

    def on_retry(exc: BaseException, attempt: int, wait: float) -> None:
        log.warning("retrying plan", attempt=attempt, wait=round(wait, 3), reqid=exc.reqid if isinstance(exc, KodoError) else "",
                    error=str(exc))

    sync_spec = spec if spec.kind == "sync" else None  # only a sync has `then:` follow-ups
    recorder = then.ChangeRecorder(spec.name) if sync_spec is not None and sync_spec.then is not None else None
    results = ResultsCollector(spec.name)
    limits = JobLimits(spec, run.stop, run.bus, concurrency=concurrency(spec, run.concurrency))
    with _subscribed(run.bus, results, recorder):
        try:
            with limits:  # the job's max_duration/max_bytes, ops_per_second, bandwidth, 573 back-off
                call_with_retries(lambda: plan_from(run.source, spec, ctx, cp, gen=run.run_id,
                                                    keep_done_of=run.resume),
                                  policy, on_retry=on_retry, stop=run.stop)
                run.runner.execute(JobRun(spec.name, limits.wrap(bind_run(spec, ctx)),
                                          batch_size=batch_size(spec), phase_batch_sizes=phase_batch_sizes(spec),
                                          concurrency=concurrency(spec, run.concurrency), policy=policy))
        except (RunAborted, RunFatalError) as exc:
            return JobEnd(report("aborted"), ends_run=True,
                          message=fatal_message(exc, describe_target(run.setup.manifest.target),
                                                run.client.slack.seconds))
        except KodoError as exc:
            return JobEnd(report("failed", note=f"planning failed: {exc}"))
        except JobInputError as exc:  # this job's own input: it fails, the others still run
            # info, not error: the console shows it once, in the summary; JSON logs (info) get the event
            log.info("job failed", reason="invalid input", error=str(exc))
            return JobEnd(replace(report("failed", note=str(exc), counted=False), invalid_input=True))
        except KodoJobsError as exc:
            return JobEnd(report("failed", note=str(exc)), ends_run=True, message=str(exc), error=exc)
        if run.stop.is_set():
            end = JobEnd(report("interrupted", note=limits.note))
            if recorder is not None and sync_spec is not None:
                then.followups(sync_spec, recorder.changes, ctx)  # only remembered: the next run refreshes them
            if limits.release():  # stopped by its own window: the other jobs still run
                log.warning("job stopped by its run window", reason=limits.note)
                end = replace(end, windowed=True)
            return end
        status: JobStatus = "failed" if cp.failed_count(spec.name) or cp.pending_count(spec.name) else "ok"
        if status == "ok":
            cp.drop_orphan_uploads(spec.name)
        end = JobEnd(replace(report(status), results=tuple(results.items)))
    then.job_ended(spec, status, cp)
    if recorder is not None and sync_spec is not None:
        end = replace(end, followups=tuple(then.followups(sync_spec, recorder.changes, ctx)))
    return end


@contextmanager
def _subscribed(bus: EventBus, *subscribers: Subscriber | None) -> Iterator[None]:
    """A job's own subscribers on the bus while it runs, so they never see the next job's events."""
    added = [s for s in subscribers if s is not None]
    bus.subscribers.extend(added)
    try:
        yield
    finally:
        for sub in added:
            if sub in bus.subscribers:
                bus.subscribers.remove(sub)


def bind_run(spec: AnyJob, ctx: AnyContext) -> Callable[[Sequence[Action]], list[Outcome]]:
    """The kind's ``run`` bound to ``ctx``, as the runner's plain callable."""
    kind = KINDS[spec.kind]

    def run(actions: Sequence[Action]) -> list[Outcome]:
        return kind.run(actions, ctx)

    return run


def batch_size(spec: AnyJob) -> int:
    """The kind's batch size (1: one action per call)."""
    return max(1, KINDS[spec.kind].batch_size)


def concurrency(spec: AnyJob, override: int | None) -> int:
    """Workers for a job: ``--concurrency`` or the job's ``concurrency``, capped by the kind's
    optional ``max_concurrency`` (a kind whose calls must be sequential, e.g. to learn a quota
    from each answer, declares ``max_concurrency = 1``)."""
    wanted = override or spec.concurrency
    cap = KINDS[spec.kind].max_concurrency
    return max(1, min(wanted, cap) if cap else wanted)


def phase_batch_sizes(spec: AnyJob) -> dict[int, int]:
    """Optional per-phase batch sizes a kind declares (``phase_batch_sizes = {1: 1000}``)."""
    return {phase: max(1, size) for phase, size in KINDS[spec.kind].phase_batch_sizes.items()}
