"""One event stream, many subscribers (rich progress, log lines, counters).

Kinds see the narrow :class:`kodo_jobs.jobs.base.Events` side (``progress``,
``file_started``, ``file_finished``); the runner adds job- and action-level events. Every
subscriber method is optional (subclass :class:`Subscriber` and override what you need) and
must be thread-safe: workers call ``progress`` concurrently.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from kodo_jobs.actions import Action, Outcome


class Subscriber:
    """Base subscriber: every hook does nothing."""

    def job_started(self, job: str, total: int, total_bytes: int) -> None:
        """A job starts executing ``total`` actions of ``total_bytes``."""

    def job_finished(self, job: str) -> None:
        """A job finished executing (or was stopped)."""

    def progress(self, nbytes: int) -> None:
        """``nbytes`` more bytes were sent."""

    def file_started(self, action: Action) -> None:
        """A kind started working on ``action``."""

    def file_finished(self, action: Action) -> None:
        """A kind stopped working on ``action``."""

    def action_done(self, action: Action, outcome: Outcome) -> None:
        """The executor recorded ``outcome`` for ``action``."""

    def retrying(self, action: Action, attempt: int, wait: float, error: str) -> None:
        """An action is retried after ``wait`` seconds."""

    def close(self) -> None:
        """The run ended; release the terminal."""


class EventBus(Subscriber):
    """Fans every event out to its subscribers and keeps the run's byte/file counters."""

    def __init__(self, subscribers: Iterable[Subscriber] = ()) -> None:
        self.subscribers = list(subscribers)
        self._lock = threading.Lock()
        self.bytes_sent = 0
        self.actions_done = 0

    def job_started(self, job: str, total: int, total_bytes: int) -> None:
        for s in self.subscribers:
            s.job_started(job, total, total_bytes)

    def job_finished(self, job: str) -> None:
        for s in self.subscribers:
            s.job_finished(job)

    def progress(self, nbytes: int) -> None:
        with self._lock:
            self.bytes_sent += nbytes
        for s in self.subscribers:
            s.progress(nbytes)

    def file_started(self, action: Action) -> None:
        for s in self.subscribers:
            s.file_started(action)

    def file_finished(self, action: Action) -> None:
        for s in self.subscribers:
            s.file_finished(action)

    def action_done(self, action: Action, outcome: Outcome) -> None:
        with self._lock:
            self.actions_done += 1
        for s in self.subscribers:
            s.action_done(action, outcome)

    def retrying(self, action: Action, attempt: int, wait: float, error: str) -> None:
        for s in self.subscribers:
            s.retrying(action, attempt, wait, error)

    def close(self) -> None:
        for s in self.subscribers:
            s.close()
