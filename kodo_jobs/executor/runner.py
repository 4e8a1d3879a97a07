"""Run one job's planned actions from the checkpoint: bounded pool, retries, phases.

The runner knows actions, not job kinds: it gets the kind's ``run`` as a plain callable.
Pending actions are read from the checkpoint a page at a time and submitted to a thread pool
of ``concurrency`` workers through a bounded window (at most ``2 * concurrency`` calls in
flight), so a 200k-action plan never lives in memory. Outcomes are recorded by the calling
thread only, in grouped transactions.

Phases: phase-1 (destructive) actions run only when every phase-0 action of the job ended
well; otherwise they are marked ``skipped`` with the reason. A :class:`RunFatalError` stops
the whole run at once (:class:`kodo_jobs.errors.RunAborted`); a stop request (signal) stops
submitting, lets in-flight calls finish and leaves the rest ``pending`` for the next run.
"""

from __future__ import annotations

import contextvars
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action, ByteCount, Outcome
from kodo_jobs.errors import RunAborted
from kodo_jobs.executor.checkpoint import PAGE, Checkpoint
from kodo_jobs.executor.events import EventBus
from kodo_jobs.executor.retry import RetryAgain, RetryPolicy, call_with_retries
from kodo_jobs.kodo.errors import KodoError, RunFatalError, UploadRestartRequired

if TYPE_CHECKING:
    from kodo_jobs.log import Logger

RunFn = Callable[[Sequence[Action]], list[Outcome]]


@dataclass(frozen=True)
class JobRun:
    """What the runner needs to execute one job."""

    name: str
    run: RunFn
    batch_size: int = 1
    concurrency: int = 4
    phase_batch_sizes: Mapping[int, int] = field(default_factory=dict)
    """Per-phase override of ``batch_size`` (e.g. sync deletes go 1000 to an rs batch)."""
    policy: RetryPolicy = field(kw_only=True)
    """The job's retry policy (:func:`kodo_jobs.executor.retry.policy_from_spec`)."""


@dataclass
class _Work:
    outcomes: list[Outcome]
    attempts: int
    fatal: KodoError | None = None


def _failed(action: Action, message: str, exc: KodoError | None = None) -> Outcome:
    return Outcome(action.id, "failed", code=exc.code if exc else None, reqid=exc.reqid if exc else "",
                   message=message)


class Runner:
    """Executes jobs against one checkpoint; one instance per run."""

    def __init__(self, checkpoint: Checkpoint, *, run_id: str, events: EventBus, stop: threading.Event,
                 log: Logger, drop_upload: Callable[[str], None] | None = None) -> None:
        self.checkpoint = checkpoint
        self.run_id = run_id
        self.events = events
        self.stop = stop
        self.log = log
        self._drop_upload = drop_upload or checkpoint.drop_upload
        self.fatal: KodoError | None = None
        self.moved: dict[str, ByteCount] = {}
        """Bytes this run moved per job (payload and on the wire), from the recorded outcomes."""

    # -- one job ---------------------------------------------------------------------------

    def execute(self, job: JobRun) -> None:
        """Run every pending action of ``job``, phase by phase; raises RunAborted on a fatal error."""
        counts = self.checkpoint.counts(job.name).get(job.name, {})
        total = sum(d.get("pending", 0) for d in counts.values())
        total_bytes = sum(d["bytes"] for d in counts.values() if d.get("pending"))
        self.events.job_started(job.name, total, total_bytes)
        try:
            for phase in (0, 1):
                if phase > 0:
                    failed = self.checkpoint.failed_count(job.name, 0)
                    if self.stop.is_set():
                        break
                    if failed:
                        n = self.checkpoint.skip_pending(
                            job.name, phase, f"not run: {failed} earlier action(s) of this job failed")
                        if n:
                            self.log.warning("destructive phase skipped", job=job.name, skipped=n,
                                             failed=failed)
                        break
                self._run_phase(job, phase)
                if self.fatal is not None or self.stop.is_set():
                    break
        finally:
            self.checkpoint.flush()
            self.events.job_finished(job.name)
        if self.fatal is not None:
            raise RunAborted(f"run stopped: {self.fatal} (no further request can succeed; "
                             "check the credentials, bucket and target in the manifest)") from self.fatal

    def _run_phase(self, job: JobRun, phase: int) -> None:
        window = max(1, job.concurrency) * 2
        inflight: dict[Future[_Work], list[Action]] = {}

        def drain(block: bool) -> None:
            done, _ = wait(list(inflight), timeout=None if block else 0, return_when=FIRST_COMPLETED)
            for fut in done:
                actions = inflight.pop(fut)
                self._record(actions, fut.result())

        with ThreadPoolExecutor(max_workers=max(1, job.concurrency), thread_name_prefix=f"kj-{job.name}") as pool:
            after = 0
            size = max(1, job.phase_batch_sizes.get(phase, job.batch_size))
            # a page holds whole batches, so a 1000-op rs batch is not cut at the page size
            page_limit = max(PAGE, size) // size * size
            while not self.stop.is_set() and self.fatal is None:
                page = self.checkpoint.pending_page(job.name, phase, after, limit=page_limit)
                if not page:
                    break
                after = page[-1][0]
                actions = [a for _, a in page]
                for i in range(0, len(actions), size):
                    if self.stop.is_set() or self.fatal is not None:
                        break
                    while len(inflight) >= window:
                        drain(block=True)
                    if self.stop.is_set() or self.fatal is not None:
                        break
                    unit = actions[i:i + size]
                    ctx = contextvars.copy_context()
                    inflight[pool.submit(ctx.run, self._work, job, unit)] = unit
                if inflight:
                    drain(block=False)
            while inflight:
                drain(block=True)

    def _record(self, actions: list[Action], work: _Work) -> None:
        by_id = {a.id: a for a in actions}
        for outcome in work.outcomes:
            action = by_id.get(outcome.action_id)
            if action is None:
                continue
            self.checkpoint.record(outcome, run_id=self.run_id, attempts=work.attempts)
            if outcome.bytes or outcome.wire:
                self.moved[action.job] = self.moved.get(action.job, ByteCount()) + ByteCount.of(outcome)
            self.events.action_done(action, outcome)
            if outcome.status == "failed":
                self.log.error("action failed", job=action.job, op=action.op, key=action.key,
                               code=outcome.code, reqid=outcome.reqid, error=outcome.message)
        if work.fatal is not None and self.fatal is None:
            self.fatal = work.fatal
            self.stop.set()

    # -- one call (in a worker thread) --------------------------------------------------------

    def _work(self, job: JobRun, unit: list[Action]) -> _Work:
        if self.stop.is_set():  # queued before a stop or a fatal error: leave for the next run
            return _Work([Outcome(a.id, "pending", message="not started") for a in unit], 0)
        finals: dict[str, Outcome] = {}
        current = list(unit)
        attempts = 0
        restarted = False

        def attempt() -> None:
            nonlocal current, attempts, restarted
            attempts += 1
            try:
                outcomes = job.run(current)
            except UploadRestartRequired as exc:
                if restarted:
                    raise
                restarted = True
                for a in current:
                    self._drop_upload(a.id)
                raise RetryAgain(f"upload session expired, restarting: {exc}") from exc
            by_id = {o.action_id: o for o in outcomes}
            again: list[Action] = []
            for a in current:
                o = by_id.get(a.id)
                if o is None:
                    finals[a.id] = _failed(a, "internal error: the job kind returned no outcome for it")
                elif o.status == "pending" and not self.stop.is_set():
                    again.append(a)
                else:
                    finals[a.id] = o
            if again:
                current = again
                raise RetryAgain(f"{len(again)} action(s) not finished")

        def on_retry(exc: BaseException, attempt_no: int, wait_s: float) -> None:
            reqid = getattr(exc, "reqid", "")
            for a in current:
                self.log.warning("retrying", job=a.job, op=a.op, key=a.key, attempt=attempt_no,
                                 wait=round(wait_s, 3), reqid=reqid, error=str(exc))
                self.events.retrying(a, attempt_no, wait_s, str(exc))

        fatal: KodoError | None = None
        try:
            call_with_retries(attempt, job.policy, on_retry=on_retry, stop=self.stop)
        except RunFatalError as exc:
            fatal = exc
            self.stop.set()  # at once, so queued work does not send more doomed requests
            for a in current:
                finals[a.id] = _failed(a, str(exc.message), exc)
        except (KodoError, RetryAgain) as exc:
            for a in current:
                if self.stop.is_set():
                    finals[a.id] = Outcome(a.id, "pending", message="interrupted")
                else:
                    kodo = exc if isinstance(exc, KodoError) else None
                    msg = exc.message if isinstance(exc, KodoError) else str(exc)
                    finals[a.id] = _failed(a, f"{msg} (after {attempts} attempt(s))", kodo)
        except sqlite3.DatabaseError:
            raise  # the state file is damaged: the whole run stops (exit 2 naming the file), not one action
        except Exception as exc:  # noqa: BLE001 - a bug or a local I/O error fails its actions, not the run
            self.log.exception("action crashed", job=job.name, keys=[a.key for a in current])
            for a in current:
                finals[a.id] = _failed(a, f"{type(exc).__name__}: {exc}")
        return _Work([finals[a.id] for a in unit if a.id in finals], attempts, fatal)
