"""``watch --metrics-file`` / ``--pushgateway``: the metrics of ``run``, refreshed after every batch.

A watcher is one process, but each of its batches is a run of its own in the state file, so the
metrics are the same families as ``run`` writes (:mod:`kodo_jobs.pipeline.metrics`), describing
the *last batch*: its actions, bytes, retries, throttled answers and exit code (0 ok, 1 failed,
2 invalid input, 130 interrupted), and the last-success timestamps carried over as ``run`` does.
The same dashboards and the same alert ("no success for two hours") then work for a cron job and
for a watcher; an idle watcher still refreshes them at every full re-plan (``--full-every``,
1 h by default), so an alert window must be longer than that.

A batch that could not run at all (the watcher logs ``watch batch failed`` and retries later)
refreshes nothing: it has no report, and the stale last-run timestamp is what tells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kodo_jobs.executor.events import Subscriber
from kodo_jobs.pipeline.metrics import RunCounters, RunMetrics

if TYPE_CHECKING:
    from kodo_jobs.kodo.client import KodoClient
    from kodo_jobs.manifest.spec_sync import SyncJob
    from kodo_jobs.pipeline.report import Report


@dataclass
class BatchMetrics:
    """Feeds one watcher's batches to :class:`~kodo_jobs.pipeline.metrics.RunMetrics`.

    The client's answer hook is installed once (:meth:`watch`); the counters it and the event
    bus feed are zeroed when a batch starts (:meth:`subscribers`), so each refresh counts that
    batch alone."""

    manifest: Path
    metrics_file: Path | None
    pushgateway: str | None
    specs: Sequence[SyncJob]
    counters: RunCounters = field(default_factory=RunCounters)

    def subscribers(self) -> Sequence[Subscriber]:
        """A batch starts: zeroed counters, subscribed to its event bus."""
        self.counters.reset()
        return [self.counters]

    def watch(self, client: KodoClient) -> None:
        """The watcher's client exists (once for its life): count its throttled answers."""
        self.counters.watch(client)

    def batch_done(self, report: Report) -> None:
        """A batch ended with ``report``: write the file and push, as ``run`` does at its end."""
        metrics = RunMetrics(self.manifest, metrics_file=self.metrics_file, pushgateway=self.pushgateway,
                             counters=self.counters)
        metrics.set_jobs(self.specs)
        metrics.set_report(report)
        metrics.finish(report.exit_code)


__all__ = ["BatchMetrics"]
