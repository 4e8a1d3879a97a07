"""The seam between the watcher and the run machinery: one batch, with the lock held for life.

This is the only module of :mod:`kodo_jobs.watch` that knows how ``run`` carries out jobs. It
takes the state file's :class:`~kodo_jobs.executor.lock.RunLock` once (a ``run`` on the same
state exits 3 for as long as the watcher lives), keeps the checkpoint and the client open, and
runs each batch through the pipeline's own job loop (:func:`kodo_jobs.pipeline.execute.run_jobs`:
plan -> execute with retries, checkpoint, ``then:`` follow-ups, per-job report), with each job's
plan restricted to the batch's :class:`~kodo_jobs.jobs.sync.touched.PlanScope`. It calls the
loop itself, not :func:`~kodo_jobs.pipeline.execute.execute_run`, because that one opens the
checkpoint and the client for one run, and a watcher keeps both for its whole life (with the
embedded target, opening the client starts the emulator).

Each batch is recorded in the state file as a run of its own (``status`` shows the last one).
Only the first batch resumes what an earlier, unfinished run left (``keep_done_of``): later
batches plan changed files afresh, and chunked uploads resume from their saved sessions
whatever the batch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from kodo_jobs.executor.checkpoint import Checkpoint
from kodo_jobs.executor.events import EventBus
from kodo_jobs.executor.lock import RunLock
from kodo_jobs.executor.runner import Runner
from kodo_jobs.jobs.sync import touched
from kodo_jobs.pipeline.clock import watch_clock
from kodo_jobs.pipeline.execute import JobsRun, RunHooks, run_jobs
from kodo_jobs.pipeline.load import RunSetup, Source, manifest_dir, manifest_sha, new_run_id
from kodo_jobs.pipeline.report import JobReport, Report, RunStatus
from kodo_jobs.pipeline.targets import open_target

if TYPE_CHECKING:
    from kodo_jobs.kodo.client import KodoClient
    from kodo_jobs.log import Logger
    from kodo_jobs.manifest.models import Manifest
    from kodo_jobs.manifest.spec_sync import SyncJob


class QuietLog:
    """The run machinery's logger for a resident process: its info events become debug.

    A watcher's JSON log carries one event per batch (written by the loop); warnings and
    errors of the machinery still show.
    """

    def __init__(self, inner: Logger) -> None:
        self.inner = inner

    def bind(self, **fields: object) -> QuietLog:
        return QuietLog(self.inner.bind(**fields))

    def debug(self, event: str | None = None, **fields: object) -> object:
        return self.inner.debug(event, **fields)

    def info(self, event: str | None = None, **fields: object) -> object:
        return self.inner.debug(event, **fields)

    def warning(self, event: str | None = None, **fields: object) -> object:
        return self.inner.warning(event, **fields)

    def error(self, event: str | None = None, **fields: object) -> object:
        return self.inner.error(event, **fields)

    def exception(self, event: str | None = None, **fields: object) -> object:
        return self.inner.exception(event, **fields)


class BatchRunner:
    """Runs batches for the watcher of ``manifest``; a context manager that holds the lock."""

    def __init__(self, manifest: Path, m: Manifest, specs: Sequence[SyncJob], state_path: Path, log: Logger,
                 hooks: RunHooks | None = None) -> None:
        self.manifest = manifest
        self.m = m
        self.specs = {s.name: s for s in specs}
        self.state_path = state_path
        self.log = log
        self.hooks = hooks
        """Sees every batch's event bus and (once) the client: ``watch --metrics-file``."""
        self.mdir = manifest_dir(m, manifest)
        self.sha = manifest_sha(manifest)
        self._stack = ExitStack()
        self.cp: Checkpoint | None = None
        self.client: KodoClient | None = None

    def __enter__(self) -> BatchRunner:
        lock = self._stack.enter_context(RunLock(self.state_path))  # LockHeld: exit 3, nothing else done
        if lock.taken_over:
            self.log.warning("took over the lock of a run that is gone", previous=lock.taken_over)
        self.cp = Checkpoint(self.state_path)
        self._stack.callback(self.cp.close)
        self.client = self._stack.enter_context(open_target(self.m.target, self.mdir, state=self.cp))
        watch_clock(self.client, self.log)
        if self.hooks is not None:
            self.hooks.watch(self.client)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.close()

    def run_batch(self, scopes: Mapping[str, touched.PlanScope], *, stop: threading.Event,
                  resume: bool = False) -> Report:
        """Plan and execute the jobs named in ``scopes``, each restricted to its scope."""
        cp, client = self.cp, self.client
        assert cp is not None and client is not None, "use BatchRunner as a context manager"
        specs = [self.specs[name] for name in scopes]
        run_id = new_run_id()
        log = QuietLog(self.log.bind(run_id=run_id))
        keep_done_of = cp.unfinished_runs(self.sha) if resume else []
        cp.begin_run(run_id, self.sha, list(scopes), dry_run=False)
        started = time.time()
        bus = EventBus(self.hooks.subscribers() if self.hooks is not None else ())
        reports: list[JobReport] = []
        status: RunStatus = "ok"
        message = ""
        try:
            runner = Runner(cp, run_id=run_id, events=bus, stop=stop, log=log)
            setup = RunSetup(manifest=self.m, manifest_path=self.manifest, specs=tuple(specs),
                             state_path=self.state_path, source=Source())
            jobs = JobsRun(client=client, checkpoint=cp, runner=runner, bus=bus, stop=stop, run_id=run_id,
                           setup=setup, resume=tuple(keep_done_of), concurrency=None, log=log)
            with touched.restricted(scopes):
                result = run_jobs(specs, jobs)
            status, message, reports = result.status, result.message, list(result.reports)
            if result.error is not None:
                message = str(result.error)
        except KeyboardInterrupt:
            status, message = "interrupted", "interrupted"
        finally:
            bus.close()
            cp.flush()
        report = Report(str(self.manifest), run_id, started, time.time(), status, tuple(reports), message=message,
                        invalid_input=any(r.invalid_input for r in reports))
        cp.end_run(run_id, status, report.to_json())
        return report
