"""`kodo-jobs run MANIFEST`: load -> lock -> (plan -> execute) per job -> report.

Each job is planned right before it runs, so a job that ``needs`` another sees that job's
effects. A job whose needs did not end ``ok`` is skipped and reported. A rerun after an
unfinished run of the same manifest (same file fingerprint) resumes: actions recorded ``done``
are not redone; for sync, the fresh listing shows finished uploads as ``same`` and unfinished
chunked uploads continue from their saved session (keyed by action id).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kodo_jobs.actions import Action, ByteCount, Outcome
from kodo_jobs.errors import EXIT_OK, Interrupted, JobInputError, KodoJobsError, RunAborted, UsageError
from kodo_jobs.executor.checkpoint import Checkpoint, ReadThroughState, state_file_errors
from kodo_jobs.executor.events import EventBus, Subscriber
from kodo_jobs.executor.lock import RunLock
from kodo_jobs.executor.progress import maybe_progress
from kodo_jobs.executor.retry import call_with_retries
from kodo_jobs.executor.runner import JobRun, Runner
from kodo_jobs.executor.signals import stop_on_signals
from kodo_jobs.jobs import then
from kodo_jobs.jobs.base import AnyContext, JobContext
from kodo_jobs.jobs.tries import policy_for
from kodo_jobs.kodo.errors import KodoError, RunFatalError
from kodo_jobs.kodo.hosts import ReadOnlyStore
from kodo_jobs.log import configure, get_logger
from kodo_jobs.pipeline import execute, saved_plan
from kodo_jobs.pipeline.clock import ClockReading, watch_clock
from kodo_jobs.pipeline.limits import JobLimits
from kodo_jobs.pipeline.load import (
    default_state_path,
    load_manifest,
    manifest_dir,
    manifest_sha,
    new_run_id,
    select_jobs,
)
from kodo_jobs.pipeline.plan_job import plan_job
from kodo_jobs.pipeline.report import FailureLine, JobReport, JobStatus, Report, RunStatus
from kodo_jobs.pipeline.saved_plan import SavedPlan, read_saved_plan
from kodo_jobs.pipeline.shard import parse_shard, shard_state_path
from kodo_jobs.pipeline.targets import describe_target, open_target
from kodo_jobs.units import parse_positive_duration, parse_size


def run(manifest: Path, *, dry_run: bool = False, concurrency: int | None = None, report_path: Path | None = None,
        plan_file: Path | None = None, shard: str | None = None, max_duration: str | None = None,
        max_bytes: str | None = None, jobs: list[str] | None = None, state: Path | None = None,
        log_format: str = "console") -> int:
    """Carry out the manifest; returns the exit code (errors go through the boundary)."""
    configure(log_format)
    byte_budget = _byte_budget(max_bytes)
    m = load_manifest(manifest)
    specs = select_jobs(m, jobs or [])
    saved = _saved_plan(plan_file, manifest)
    # the plan file's digest as it was checked: what a finished run records as applied
    source = _Source(shard=parse_shard(shard), saved=saved,
                     saved_sha=saved_plan.fingerprint(saved) if saved is not None else "",
                     manifest_jobs=frozenset(s.name for s in specs))
    state_path = shard_state_path((state or default_state_path(manifest)).resolve(), source.shard)
    if source.saved is not None:
        already = _already_applied(source.saved_sha, state_path)
        if already is not None:
            sys.stdout.write(f"kodo-jobs: nothing to do: {plan_file} was already applied ({already}); "
                             "make a new plan with `kodo-jobs plan -o` for further changes\n")
            return EXIT_OK
        # every fact re-checked before anything runs: a stale plan changes nothing
        saved_plan.check(source.saved, {j.name: j for j in m.jobs})  # and every action is one m could plan
        with open_target(m.target, manifest_dir(m, manifest)) as client:
            saved_plan.verify(source.saved, {s.name: s for s in specs}, client, shard=source.shard)
    run_id = new_run_id()
    log = get_logger(run_id=run_id)
    stop = threading.Event()
    timer = _deadline(max_duration, stop)
    try:
        with state_file_errors(state_path):  # a damaged state file is exit 2 naming it, wherever it shows
            if dry_run:
                report = _dry_run(m, manifest, specs, state_path, run_id, log, source)
            else:
                report = _real_run(m, manifest, specs, state_path, run_id, log, stop, concurrency, byte_budget,
                                   source)
    finally:
        if timer is not None:
            timer.cancel()
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


@dataclass(frozen=True)
class _Source:
    """Where each job's actions come from: its kind's planner, or a saved plan; optionally a shard."""

    shard: tuple[int, int] | None = None
    saved: SavedPlan | None = None
    saved_sha: str = ""
    """SHA-256 of the saved plan file, read once before it is checked."""
    manifest_jobs: frozenset[str] = frozenset()

    def skip_reason(self, spec: Any) -> str:
        """Why a manifest job is not run with this source ("" = run it)."""
        if self.saved is not None and spec.name in self.manifest_jobs and spec.name not in self.saved.jobs:
            return f"not in the saved plan {self.saved.path}"
        return ""

    def plan(self, spec: Any, ctx: AnyContext, cp: Checkpoint, gen: str, keep_done_of: list[str]) -> None:
        """Store the job's actions into the checkpoint."""
        saved = (saved_plan.trusted_actions(self.saved, spec)
                 if self.saved is not None and spec.name in self.saved.jobs else None)
        plan_job(spec, ctx, cp, gen=gen, keep_done_of=keep_done_of, shard=self.shard, actions=saved)


def _already_applied(saved_sha: str, state_path: Path) -> str | None:
    """Which run applied the saved plan of this digest in full, if this state file says one did."""
    if not state_path.exists():
        return None
    with Checkpoint(state_path, create=False, readonly=True) as cp:
        return saved_plan.applied_note(saved_sha, cp)


def _saved_plan(plan_file: Path | None, manifest: Path) -> SavedPlan | None:
    if plan_file is None:
        return None
    try:
        saved = read_saved_plan(plan_file)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--plan {plan_file}: {exc}") from exc
    sha = saved.head.get("manifest_sha")
    if sha != manifest_sha(manifest):
        raise UsageError(f"--plan {plan_file} was made from another version of {manifest} (or another "
                         "manifest): make a new plan with `kodo-jobs plan -o` and review it again")
    return saved


def _byte_budget(max_bytes: str | None) -> int | None:
    if max_bytes is None:
        return None
    try:
        return parse_size(max_bytes)
    except ValueError as exc:
        raise UsageError(f"--max-bytes {max_bytes!r}: {exc}") from exc


class _StopAfterBytes(Subscriber):
    """Asks the run to stop cleanly once ``limit`` bytes were sent (the rest resumes next run)."""

    def __init__(self, limit: int, stop: threading.Event) -> None:
        self.limit, self.stop, self.sent = limit, stop, 0
        self._lock = threading.Lock()

    def progress(self, nbytes: int) -> None:
        with self._lock:
            self.sent += nbytes
            if self.sent >= self.limit:
                self.stop.set()


def _deadline(max_duration: str | None, stop: threading.Event) -> threading.Timer | None:
    if max_duration is None:
        return None
    try:
        seconds = parse_positive_duration(max_duration)  # the manifest's max_duration parser
    except ValueError as exc:
        raise UsageError(f"--max-duration {max_duration!r}: {exc}") from exc
    timer = threading.Timer(seconds, stop.set)
    timer.daemon = True
    timer.start()
    return timer


def _dry_run(m: Any, manifest: Path, specs: list[Any], state_path: Path, run_id: str, log: Any,
             source: _Source) -> Report:
    """Plan every job into a scratch checkpoint and report what would happen; change nothing."""
    import tempfile

    started = time.time()
    mdir = manifest_dir(m, manifest)
    real = Checkpoint(state_path, create=False) if state_path.exists() else None
    with tempfile.TemporaryDirectory(prefix="kodo-jobs-dry-") as tmp:
        scratch = Checkpoint(Path(tmp) / "plan.kjstate")
        try:
            with open_target(m.target, mdir, state=ReadOnlyStore(real)) as client:
                reports: list[JobReport] = []
                for spec in specs:
                    t0 = time.time()
                    if not getattr(spec, "enabled", True):
                        reports.append(JobReport(spec.name, spec.kind, "disabled", {}))
                        continue
                    if source.skip_reason(spec):
                        reports.append(JobReport(spec.name, spec.kind, "skipped", {}, note=source.skip_reason(spec)))
                        continue
                    ctx = JobContext(client=client, spec=spec, state=ReadThroughState(real), dry_run=True,
                                     log=log.bind(job=spec.name), manifest_dir=mdir, run_id="")
                    source.plan(spec, ctx, scratch, run_id, [])
                    reports.append(_job_report(scratch, spec, "planned", time.time() - t0))
            return Report(str(manifest), run_id, started, time.time(), "dry-run", tuple(reports), dry_run=True)
        finally:
            scratch.close()
            if real is not None:
                real.close()


def _real_run(m: Any, manifest: Path, specs: list[Any], state_path: Path, run_id: str, log: Any,
              stop: threading.Event, concurrency: int | None, byte_budget: int | None, source: _Source) -> Report:
    started = time.time()
    mdir = manifest_dir(m, manifest)
    bus = EventBus(maybe_progress())
    if byte_budget is not None:
        bus.subscribers.append(_StopAfterBytes(byte_budget, stop))
    with RunLock(state_path) as lock:
        cp = Checkpoint(state_path)
        try:
            if lock.taken_over:
                log.warning("took over the lock of a run that is gone", previous=lock.taken_over)
            sha = manifest_sha(manifest)
            resume = cp.unfinished_runs(sha)
            if resume:
                log.info("resuming unfinished runs", previous_runs=resume)
            cp.begin_run(run_id, sha, [s.name for s in specs], dry_run=False)
            status: RunStatus = "ok"
            message = ""
            reports: list[JobReport] = []
            pending_error: KodoJobsError | None = None
            clock_reading: ClockReading | None = None
            try:
                with stop_on_signals(stop), open_target(m.target, mdir, state=cp) as client:
                    clock_reading = watch_clock(client, log)  # first answer's Date: report, widen deadlines on skew
                    runner = Runner(cp, run_id=run_id, events=bus, stop=stop, log=log)
                    status, message, pending_error = _run_jobs(
                        specs, client, cp, runner, bus, stop, run_id, mdir, resume, concurrency, log, reports,
                        source, describe_target(m.target))
            except KeyboardInterrupt:
                status, message = "interrupted", "interrupted"
            finally:
                bus.close()
                cp.flush()
            invalid = any(r.invalid_input for r in reports)
            report = Report(str(manifest), run_id, started, time.time(), status, tuple(reports), message=message,
                            extra={"clock": clock_reading.to_json()} if clock_reading is not None else {},
                            invalid_input=invalid)
            cp.end_run(run_id, status, report.to_json())
            if status == "ok" and source.saved is not None:
                cp.set_value(saved_plan.APPLIED_PREFIX + source.saved_sha,
                             f"by run {run_id} at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
            if pending_error is not None:
                report.render_text(sys.stdout)
                raise pending_error
            return report
        finally:
            cp.close()


def _run_jobs(specs: list[Any], client: Any, cp: Checkpoint, runner: Runner, bus: EventBus,
              stop: threading.Event, run_id: str, mdir: Path, resume: list[str], concurrency: int | None,
              log: Any, reports: list[JobReport], source: _Source,
              target: str) -> tuple[RunStatus, str, KodoJobsError | None]:
    job_status: dict[str, JobStatus] = {}
    windowed: list[str] = []  # jobs stopped by their own max_duration/max_bytes
    work = list(specs)  # grows while running: a sync's `then:` follow-up jobs run right after it
    for spec in work:
        t0 = time.time()
        jlog = log.bind(job=spec.name)
        if not getattr(spec, "enabled", True):
            job_status[spec.name] = "disabled"
            reports.append(JobReport(spec.name, spec.kind, "disabled", {}, note="enabled: false"))
            continue
        bad_needs = [n for n in getattr(spec, "needs", ()) if n in job_status and job_status[n] not in ("ok",)]
        if bad_needs or stop.is_set() or source.skip_reason(spec):
            note = (f"skipped: needs {', '.join(bad_needs)} did not succeed" if bad_needs
                    else "not started: the run was stopped" if stop.is_set()
                    else f"skipped: {source.skip_reason(spec)}")
            if source.skip_reason(spec) and not (bad_needs or stop.is_set()):
                # outside the saved plan: like a job not selected with --job, not a failure
                reports.append(JobReport(spec.name, spec.kind, "skipped", {}, note=note))
                continue
            cp.clear_job(spec.name)
            # waiting only for jobs stopped by their run window: not a failure, continued next run
            if bad_needs and set(bad_needs) <= set(windowed):
                job_status[spec.name] = "interrupted"
                windowed.append(spec.name)
            else:
                job_status[spec.name] = "skipped"
            reports.append(JobReport(spec.name, spec.kind, "skipped", {}, note=note))
            jlog.warning("job skipped", reason=note)
            continue
        ctx = JobContext(client=client, spec=spec, state=cp, events=bus, dry_run=False,
                         stop_requested=stop.is_set, log=jlog, manifest_dir=mdir, run_id=run_id)
        policy = policy_for(spec)

        def plan_once(spec: Any = spec, ctx: AnyContext = ctx) -> None:
            source.plan(spec, ctx, cp, run_id, resume)

        def on_retry(exc: BaseException, attempt: int, wait: float, jlog: Any = jlog) -> None:
            jlog.warning("retrying plan", attempt=attempt, wait=round(wait, 3), reqid=getattr(exc, "reqid", ""),
                         error=str(exc))

        recorder = then.ChangeRecorder(spec.name) if getattr(spec, "then", None) is not None else None
        if recorder is not None:
            bus.subscribers.append(recorder)
        results = _Results(spec.name)
        bus.subscribers.append(results)
        limits = JobLimits(spec, stop, bus, concurrency=execute.concurrency(spec, concurrency))
        try:
            with limits:  # the job's max_duration/max_bytes, ops_per_second, bandwidth, 573 back-off
                call_with_retries(plan_once, policy, on_retry=on_retry, stop=stop)
                runner.execute(JobRun(spec.name, limits.wrap(execute.bind_run(spec, ctx)),
                                      batch_size=execute.batch_size(spec),
                                      phase_batch_sizes=execute.phase_batch_sizes(spec),
                                      concurrency=execute.concurrency(spec, concurrency), policy=policy))
        except (RunAborted, RunFatalError) as exc:
            _detach(bus, results, recorder)
            job_status[spec.name] = "aborted"
            reports.append(_job_report(cp, spec, "aborted", time.time() - t0, moved=runner.moved))
            return "aborted", _fatal_message(exc, target, client.slack.seconds), None
        except KodoError as exc:
            _detach(bus, results, recorder)
            job_status[spec.name] = "failed"
            reports.append(_job_report(cp, spec, "failed", time.time() - t0, note=f"planning failed: {exc}",
                                       moved=runner.moved))
            continue
        except JobInputError as exc:  # this job's own input: it fails, the others still run
            _detach(bus, results, recorder)
            job_status[spec.name] = "failed"
            reports.append(replace(_job_report(cp, spec, "failed", time.time() - t0, note=str(exc)),
                                   invalid_input=True))
            # info, not error: the console shows it once, in the summary; JSON logs (info) get the event
            jlog.info("job failed", reason="invalid input", error=str(exc))
            continue
        except KodoJobsError as exc:
            _detach(bus, results, recorder)
            job_status[spec.name] = "failed"
            reports.append(_job_report(cp, spec, "failed", time.time() - t0, note=str(exc), moved=runner.moved))
            return "failed", str(exc), exc
        if stop.is_set():
            job_status[spec.name] = "interrupted"
            reports.append(_job_report(cp, spec, "interrupted", time.time() - t0, note=limits.note,
                                       moved=runner.moved))
            if recorder is not None:
                then.followups(spec, recorder.changes, ctx)  # only remembered: the next run refreshes them
            if limits.release():  # stopped by its own window: the other jobs still run
                windowed.append(spec.name)
                _detach(bus, results, recorder)
                jlog.warning("job stopped by its run window", reason=limits.note)
            continue
        failed = cp.failed_count(spec.name)
        unfinished = cp.pending_count(spec.name)
        st: JobStatus = "failed" if failed or unfinished else "ok"
        job_status[spec.name] = st
        if st == "ok":
            cp.drop_orphan_uploads(spec.name)
        reports.append(replace(_job_report(cp, spec, st, time.time() - t0, moved=runner.moved),
                               results=tuple(results.items)))
        bus.subscribers.remove(results)
        then.job_ended(spec, st, cp)
        if recorder is not None:
            bus.subscribers.remove(recorder)
            at = work.index(spec) + 1
            work[at:at] = then.followups(spec, recorder.changes, ctx)
    if stop.is_set():
        return "interrupted", "", None
    if any(s in ("failed", "skipped") for s in job_status.values()):
        return "failed", "", None
    if windowed:
        return "interrupted", f"stopped by the run window of {', '.join(windowed)}; run again to continue", None
    return "ok", "", None


def _fatal_message(exc: BaseException, target: str, skew: int) -> str:
    """The one line that says why the whole run stopped, and what to check.

    A 401 names the target that refused and the two manifest fields to check (and the clock,
    when this run measured a skew: ``skew`` is the client's deadline slack); anything else
    run-wide keeps its own message."""
    from kodo_jobs.kodo.errors import NoSuchBucket, Unauthorized

    root: BaseException | None = exc
    while root is not None and not isinstance(root, KodoError):
        root = root.__cause__
    if isinstance(root, Unauthorized):
        clock_hint = (f"; this machine's clock is {abs(skew)}s off the server's: fix it (NTP)" if skew else "")
        return (f"run stopped: {target} refused the credentials ({root}). Check target.access_key and "
                f"target.secret_key in the manifest (often ${{QINIU_ACCESS_KEY}} / ${{QINIU_SECRET_KEY}}): "
                f"they must be a valid AccessKey/SecretKey pair of the account that owns the bucket"
                f"{clock_hint}")
    if isinstance(root, NoSuchBucket):
        return f"run stopped: {exc} (the bucket does not exist at {target}: check `bucket:` and the target)"
    if isinstance(exc, RunAborted):
        return str(exc)
    return f"run stopped: {exc} (no further request can succeed; check the credentials, bucket and target)"


def _detach(bus: EventBus, *subscribers: Subscriber | None) -> None:
    """Remove a failed job's own subscribers so they do not see the next job's events."""
    for sub in subscribers:
        if sub is not None and sub in bus.subscribers:
            bus.subscribers.remove(sub)


class _Results(Subscriber):
    """Collects the ``result`` of this job's finished actions for the report (capped)."""

    LIMIT = 1000

    def __init__(self, job: str) -> None:
        self.job = job
        self.items: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def action_done(self, action: Action, outcome: Outcome) -> None:
        if action.job == self.job and outcome.result and outcome.status in ("done", "failed"):
            with self._lock:
                if len(self.items) < self.LIMIT:
                    self.items.append({"op": action.op, "key": action.key, "status": outcome.status,
                                       **dict(outcome.result)})


def _job_report(cp: Checkpoint, spec: Any, status: JobStatus, duration: float, note: str = "",
                moved: Mapping[str, ByteCount] | None = None) -> JobReport:
    counts = cp.counts(spec.name).get(spec.name, {})
    failures, total = cp.failures(spec.name)
    return JobReport(
        name=spec.name, kind=spec.kind, status=status, counts=counts, duration=duration,
        failures=tuple(FailureLine(f.op, f.key, f.code, f.reqid, f.message) for f in failures),
        failures_total=total, note=note, moved=(moved or {}).get(spec.name, ByteCount()),
    )
