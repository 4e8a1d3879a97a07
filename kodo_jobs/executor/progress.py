"""Rich progress on a TTY (files, bytes, rate, ETA); nothing at all otherwise."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.executor.events import Subscriber
from kodo_jobs.textsafe import escape_text

if TYPE_CHECKING:
    from rich.progress import TaskID


class RichProgress(Subscriber):
    """One bar per job: actions done of total, bytes sent, rate and ETA."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[files]}"),
            DownloadColumn(binary_units=True), TransferSpeedColumn(), TimeRemainingColumn(),
            console=Console(file=sys.stderr), transient=False,
        )
        self._lock = threading.Lock()
        self._task: TaskID | None = None
        self._files_total = 0
        self._files_done = 0
        self._started = False

    def job_started(self, job: str, total: int, total_bytes: int) -> None:
        from rich.markup import escape

        with self._lock:
            if not self._started:
                self._progress.start()
                self._started = True
            self._files_total, self._files_done = total, 0
            # the description is rich markup: escape the name's markup and control characters
            self._task = self._progress.add_task(escape(escape_text(job)), total=max(total_bytes, 1),
                                                 files=f"0/{total} files")

    def progress(self, nbytes: int) -> None:
        with self._lock:
            if self._task is not None:
                self._progress.advance(self._task, nbytes)

    def action_done(self, action: Action, outcome: Outcome) -> None:
        with self._lock:
            self._files_done += 1
            if self._task is not None:
                self._progress.update(self._task, files=f"{self._files_done}/{self._files_total} files")

    def job_finished(self, job: str) -> None:
        with self._lock:
            if self._task is not None:
                self._progress.update(self._task, completed=self._progress.tasks[-1].total)
            self._task = None

    def close(self) -> None:
        with self._lock:
            if self._started:
                self._progress.stop()
                self._started = False


def maybe_progress(enabled: bool | None = None) -> list[Subscriber]:
    """``[RichProgress()]`` when stderr is a terminal (or ``enabled``), else nothing."""
    on = sys.stderr.isatty() if enabled is None else enabled
    return [RichProgress()] if on else []


__all__ = ["RichProgress", "maybe_progress"]
