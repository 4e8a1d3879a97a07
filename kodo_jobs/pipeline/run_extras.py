"""The operator's extras of one ``run``: metrics, progress lines, the failure notification.

None of them decides anything about the run; they watch it and report it. They meet the run at
four points, each one call (so the run's own code carries four short lines):

1. :meth:`RunExtras.loaded` once the manifest is loaded (the ``notify:`` settings, the jobs);
2. :meth:`RunExtras.subscribers` and :meth:`RunExtras.watch` when the event bus and the client
   exist (retries and throttled answers for the metrics; the progress lines);
3. :meth:`RunExtras.reported` once the report is made;
4. :meth:`RunExtras.finish` from the error boundary with the exit code, whatever way the run
   ended (failed, interrupted, invalid manifest, lock held): that is where the metrics file is
   written and the webhook called, inside the command's secret-redaction scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kodo_jobs.executor.events import Subscriber
from kodo_jobs.executor.progress_lines import DEFAULT_INTERVAL, progress_lines

if TYPE_CHECKING:
    from kodo_jobs.kodo.client import KodoClient
    from kodo_jobs.manifest.models import AnyJob, Manifest
    from kodo_jobs.manifest.notify import Notify
    from kodo_jobs.pipeline.metrics import RunMetrics
    from kodo_jobs.pipeline.report import Report


@dataclass
class RunExtras:
    """What ``run`` reports besides its own output (see the module docstring)."""

    manifest: Path
    metrics: RunMetrics | None = None
    progress_interval: float = DEFAULT_INTERVAL
    log_format: str = "console"
    notify: Notify | None = None
    report: Report | None = None
    tty: bool | None = None
    """Whether stderr is a terminal (None: ask it); tests set it."""
    _subscribers: list[Subscriber] = field(default_factory=list)

    @classmethod
    def from_options(cls, manifest: Path, *, metrics_file: Path | None, pushgateway: str | None,
                     progress_interval: float, log_format: str, shard: str | None = None) -> RunExtras:
        """The extras the command-line options ask for."""
        metrics = None
        if metrics_file is not None or pushgateway is not None:
            from kodo_jobs.pipeline.metrics import RunMetrics

            metrics = RunMetrics(manifest, metrics_file=metrics_file, pushgateway=pushgateway, shard=shard)
        return cls(manifest, metrics=metrics, progress_interval=progress_interval, log_format=log_format)

    def loaded(self, manifest: Manifest, specs: Sequence[AnyJob]) -> None:
        """The manifest was loaded: remember its ``notify:`` and the selected jobs."""
        self.notify = manifest.notify
        if self.metrics is not None:
            self.metrics.set_jobs(specs)

    def subscribers(self) -> list[Subscriber]:
        """Subscribers for the run's event bus (the bus closes them at the end of the run)."""
        self._subscribers = progress_lines(self.progress_interval, self.log_format, tty=self.tty)
        if self.metrics is not None:
            self._subscribers.append(self.metrics.counters)
        return list(self._subscribers)

    def watch(self, client: KodoClient) -> None:
        """The run's client exists: count its throttled answers."""
        if self.metrics is not None:
            self.metrics.counters.watch(client)

    def reported(self, report: Report) -> None:
        """The run's report is made."""
        self.report = report
        if self.metrics is not None:
            self.metrics.set_report(report)

    def finish(self, exit_code: int) -> None:
        """Called by the error boundary with the run's exit code: write/push metrics, notify."""
        for sub in self._subscribers:  # a run that never closed its bus still stops the timer thread
            sub.close()
        if self.metrics is not None:
            self.metrics.finish(exit_code)
        if self.notify is not None:
            from kodo_jobs.pipeline.notify import notify

            notify(self.notify, self.report, exit_code, str(self.manifest))


__all__ = ["RunExtras"]
