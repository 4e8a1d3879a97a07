"""The watcher's loop: batches of touched paths, full re-plans, one log event per batch.

1. Start observing, then run every watched job once in full (resuming what an earlier run or
   watcher left), so nothing that changed while no one watched is missed.
2. Sleep until a job's batch is due (:mod:`.debounce`), a second has passed (health check,
   :mod:`.observe`) or a signal arrives.
3. For each due job: a full re-plan when events were lost or ``--full-every`` elapsed, else its
   touched paths minus the files still being written (:mod:`.quiet`, they wait), with what
   the rolling delete window still allows (:mod:`.window`).
4. Run the batch (:mod:`.runner`), log one ``watch batch`` event, print the report when
   something changed or failed, call the ``on_batch`` hooks (metrics), and schedule a retry
   (a full re-plan, with exponential back-off) for a job whose batch did not end ok.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from kodo_jobs.jobs.sync.touched import PlanScope
from kodo_jobs.pipeline.report import Report
from kodo_jobs.watch.debounce import Batch, Collector
from kodo_jobs.watch.events import OverflowAlarm, TouchHandler
from kodo_jobs.watch.observe import Folder, Observation
from kodo_jobs.watch.quiet import QuietGate
from kodo_jobs.watch.runner import BatchRunner
from kodo_jobs.watch.signals import Stopping
from kodo_jobs.watch.window import DeleteWindow

if TYPE_CHECKING:
    from kodo_jobs.log import Logger
    from kodo_jobs.manifest.models import AnyJob
    from kodo_jobs.manifest.spec_sync import SyncJob

TICK = 1.0
"""Longest sleep between two health checks (seconds)."""
RETRY_FIRST = 5.0
"""Back-off before the first retry of a job whose batch failed (doubles up to --full-every)."""


@dataclass(frozen=True)
class WatchOptions:
    """The watcher's settings (validated by the command)."""

    debounce: float = 2.0
    full_every: float = 3600.0
    delete_window: float = 3600.0
    polling: bool = False

    @property
    def max_wait(self) -> float:
        """Longest a batch waits for events to stop (a file written without pause)."""
        return max(5 * self.debounce, 10.0)


@dataclass
class WatchedJob:
    """One watched sync job and its state in the loop."""

    spec: SyncJob
    collector: Collector
    gate: QuietGate
    window: DeleteWindow
    known_total: int = 0
    next_full: float = 0.0
    retry_at: float | None = None
    backoff: float = RETRY_FIRST

    @property
    def name(self) -> str:
        return str(self.spec.name)


@dataclass
class Watcher:
    """Runs the loop until ``stopping.requested``."""

    specs: Sequence[SyncJob]
    runner: BatchRunner
    options: WatchOptions
    log: Logger
    stopping: Stopping
    on_batch: list[Callable[[Report], None]] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic
    out: IO[str] | None = None
    batches: int = 0

    def __post_init__(self) -> None:
        wake = self.stopping.wake
        if wake is None:
            import threading

            wake = self.stopping.wake = threading.Event()
        self.jobs = [
            WatchedJob(spec, Collector(self.options.debounce, self.options.max_wait, wake=wake),
                       QuietGate(str(spec.source), self.options.debounce),
                       DeleteWindow(spec.max_delete, self.options.delete_window))
            for spec in self.specs
        ]
        self.observation = Observation(
            [Folder(j.name, str(j.spec.source), j.collector, TouchHandler(str(j.spec.source), j.collector, self.clock,
                                                               own=str(self.runner.state_path)))
             for j in self.jobs], self.clock, self.log, polling=self.options.polling)
        self.alarm = OverflowAlarm(self.overflowed)
        for job in self.jobs:  # the first full plan runs at start; a failed one retries with back-off
            job.next_full = self.clock() + self.options.full_every

    def overflowed(self, reason: str) -> None:
        """Events were lost for every folder: full re-plans (also the hook tests use)."""
        for job in self.jobs:
            job.collector.lost(reason, self.clock())

    def run(self) -> None:
        """Watch until asked to stop (see the module docstring)."""
        self.alarm.install()
        self.observation.start()
        try:
            self._batch({j.name: Batch(full=True, reasons=("start",)) for j in self.jobs}, resume=True)
            while not self.stopping.requested.is_set():
                self._sleep()
                if self.stopping.requested.is_set():
                    break
                self.observation.check()
                due = self._due()
                if due:
                    self._batch(due)
        finally:
            self.observation.stop()
            self.alarm.uninstall()

    def _sleep(self) -> None:
        wake = self.stopping.wake
        assert wake is not None
        now = self.clock()
        times = [t for j in self.jobs for t in (j.collector.due_at(), j.retry_at, j.next_full) if t is not None]
        timeout = min([TICK, *[max(0.0, t - now) for t in times]])
        if wake.wait(timeout):
            wake.clear()

    def _due(self) -> dict[str, Batch]:
        now, wall = self.clock(), time.time()
        due: dict[str, Batch] = {}
        for job in self.jobs:
            if now >= job.next_full:
                job.collector.lost("--full-every elapsed", now)
            if job.retry_at is not None and now >= job.retry_at:
                job.retry_at = None
                job.collector.lost("retrying after a failed batch", now)
            if not self.observation.present(job.name):
                continue  # reported by the observation; its events wait until the folder is back
            batch = job.collector.take(now)
            if not batch.full and batch.paths:
                ready, waiting = job.gate.split(batch.paths, wall)
                for rel in waiting:
                    job.collector.touch(rel, now)  # looked at again after another debounce
                batch = Batch(ready)
            if batch:
                due[job.name] = batch
        return due

    def _batch(self, batches: dict[str, Batch], *, resume: bool = False) -> None:
        now = self.clock()
        by_name = {j.name: j for j in self.jobs}
        scopes = {}
        for name, b in batches.items():
            job = by_name[name]
            # before the first full plan the prefix's size is unknown: max_delete alone applies
            allowance = job.window.allowance(job.known_total, now) if job.known_total else None
            scopes[name] = PlanScope(paths=None if b.full else b.paths, known_total=job.known_total,
                                     delete_allowance=allowance,
                                     modified_before_ns=time.time_ns() - int(self.options.debounce * 1e9))
        t0 = self.clock()
        try:
            report = self.runner.run_batch(scopes, stop=self.stopping.abort, resume=resume)
        except Exception as exc:  # noqa: BLE001 - a resident process reports and retries; it does not die
            self.log.error("watch batch failed", error=str(exc), error_type=type(exc).__name__,
                           jobs=sorted(batches))
            for name in batches:
                self._retry_later(by_name[name])
            return
        self.batches += 1
        self._account(report, batches, scopes)
        self._report(report, batches, self.clock() - t0)
        for hook in self.on_batch:
            hook(report)

    def _account(self, report: Report, batches: dict[str, Batch], scopes: dict[str, PlanScope]) -> None:
        now = self.clock()
        for jr in report.jobs:
            job = next((j for j in self.jobs if j.name == jr.name), None)
            if job is None:
                continue  # a `then:` follow-up
            uploaded = int(jr.counts.get("upload", {}).get("done", 0))
            deleted = int(jr.counts.get("delete", {}).get("done", 0))
            scope = scopes[job.name]
            base = scope.remote_total if batches[job.name].full and scope.planned else job.known_total
            job.known_total = max(0, base + uploaded - deleted)
            job.window.record(deleted, now)
            for rel in scope.deferred:  # left out as still being written: looked at again
                job.collector.touch(rel, now)
            if batches[job.name].full:
                job.next_full = now + self.options.full_every
            if jr.status == "ok":
                job.retry_at, job.backoff = None, RETRY_FIRST
            elif jr.status != "interrupted":
                self._retry_later(job)

    def _retry_later(self, job: WatchedJob) -> None:
        job.retry_at = self.clock() + job.backoff
        job.backoff = min(job.backoff * 2, max(RETRY_FIRST, self.options.full_every))

    def _report(self, report: Report, batches: dict[str, Batch], seconds: float) -> None:
        jobs = {}
        for jr in report.jobs:
            b = batches.get(jr.name)
            jobs[jr.name] = {
                "status": jr.status, "mode": "full" if b is None or b.full else "paths",
                "paths": 0 if b is None or b.full else len(b.paths),
                "reasons": list(b.reasons) if b is not None else [],
                "counts": {op: dict(st) for op, st in jr.counts.items()},
                "note": jr.note, "failures": jr.failures_total,
            }
        event = self.log.info if report.status == "ok" else self.log.warning
        event("watch batch", batch=self.batches, status=report.status, seconds=round(seconds, 3),
              changed=report.changed, message=report.message, jobs=jobs)
        if report.changed or report.status != "ok":
            out = self.out if self.out is not None else sys.stdout
            report.render_text(out)
            out.flush()


def watchable_jobs(specs: Iterable[AnyJob]) -> list[SyncJob]:
    """The jobs a watcher follows: enabled sync jobs that upload a folder (downloads follow the
    bucket, not file-system events)."""
    return [s for s in specs if s.kind == "sync" and s.direction == "upload" and s.enabled]
