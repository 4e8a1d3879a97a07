"""`kodo-jobs watch MANIFEST`: run the upload syncs once, then keep the bucket in step with events.

Thin: options and manifest in, the watcher (:mod:`kodo_jobs.watch`) runs until SIGTERM/SIGINT,
exit 0. A held lock is exit 3 before anything runs; a manifest without an upload-direction
sync job (among ``--job``) is a usage error (2).
"""

from __future__ import annotations

from pathlib import Path

from kodo_jobs.errors import EXIT_OK, UsageError
from kodo_jobs.log import configure, get_logger
from kodo_jobs.pipeline.load import default_state_path, load_manifest, select_jobs, state_file_errors
from kodo_jobs.units import parse_positive_duration


def _seconds(option: str, value: str) -> float:
    try:
        return parse_positive_duration(value)
    except ValueError as exc:
        raise UsageError(f"{option} {value!r}: {exc}") from exc


def watch(manifest: Path, *, jobs: list[str] | None = None, state: Path | None = None, debounce: str = "2s",
          full_every: str = "1h", delete_window: str = "1h", polling: bool = False,
          log_format: str = "console", metrics_file: Path | None = None, pushgateway: str | None = None) -> int:
    """Watch until stopped; returns the exit code (errors go through the boundary).

    ``metrics_file`` / ``pushgateway``: the metrics ``run`` writes, refreshed after every batch
    (:mod:`kodo_jobs.watch.metrics`)."""
    from kodo_jobs.watch.loop import Watcher, WatchOptions, watchable_jobs
    from kodo_jobs.watch.metrics import BatchMetrics
    from kodo_jobs.watch.runner import BatchRunner
    from kodo_jobs.watch.signals import Stopping, handle_signals

    configure(log_format)
    options = WatchOptions(debounce=_seconds("--debounce", debounce), full_every=_seconds("--full-every", full_every),
                           delete_window=_seconds("--delete-window", delete_window), polling=polling)
    m = load_manifest(manifest)
    specs = watchable_jobs(select_jobs(m, jobs or []))
    if not specs:
        raise UsageError(f"{manifest}: no enabled upload-direction sync job to watch"
                         + (f" among --job {', '.join(jobs)}" if jobs else ""))
    state_path = (state or default_state_path(manifest)).resolve()
    log = get_logger(command="watch")
    stopping = Stopping()
    metrics = (BatchMetrics(manifest, metrics_file, pushgateway, specs)
               if metrics_file is not None or pushgateway is not None else None)
    with state_file_errors(state_path), BatchRunner(manifest, m, specs, state_path, log, hooks=metrics) as runner, \
            handle_signals(stopping):
        log.info("watch started", jobs=[s.name for s in specs], state=str(state_path), debounce=options.debounce,
                 full_every=options.full_every)
        watcher = Watcher(specs, runner, options, log, stopping)
        if metrics is not None:
            watcher.on_batch.append(metrics.batch_done)
        watcher.run()
        log.info("watch stopped", batches=watcher.batches)
    return EXIT_OK
