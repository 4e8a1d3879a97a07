"""The watchdog observers of the watched folders, kept healthy.

The native observer (inotify on Linux, FSEvents/kqueue/ReadDirectoryChangesW elsewhere) is
used when it can watch a folder; when it cannot (``inotify`` watch or instance limits:
``OSError`` from ``schedule``), or with ``polling=True`` (network file systems, whose remote
changes raise no local events), the folder gets watchdog's polling observer.

:meth:`Observation.check`, called about once a second, finds what events cannot tell:

* an observer thread that died (an exception inside watchdog): a new observer, and a full
  re-plan of its folders;
* a folder that disappeared: reported once, unwatched, and watched again (with a full
  re-plan) once it is back;
* a folder replaced under the watcher (same path, another inode: ``mv new src``): watched
  again, full re-plan.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from kodo_jobs.watch.debounce import Collector
from kodo_jobs.watch.events import TouchHandler

if TYPE_CHECKING:
    from kodo_jobs.log import Logger

POLL_INTERVAL = 5.0
"""Seconds between two scans of a polled folder (a scan stats every file)."""


@dataclass
class Folder:
    """One watched source folder."""

    job: str
    root: str
    collector: Collector
    handler: TouchHandler
    ident: tuple[int, int] | None = None
    watch: ObservedWatch | None = None
    observer: BaseObserver | None = None
    missing_reported: bool = False


def _ident(root: str) -> tuple[int, int] | None:
    try:
        st = os.stat(root)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if os.path.isdir(root) else None


@dataclass
class Observation:
    """Watches every folder; ``log`` gets one warning per incident."""

    folders: list[Folder]
    clock: Callable[[], float]
    log: Logger
    polling: bool = False
    _native: BaseObserver | None = None
    _poller: BaseObserver | None = None
    restarts: int = 0
    kinds: dict[str, str] = field(default_factory=dict)
    """job -> "native" or "polling" (for the log and tests)."""

    def start(self) -> None:
        """Start observing every folder that exists now."""
        for folder in self.folders:
            self._schedule(folder)

    def _observer(self, polling: bool) -> BaseObserver:
        if polling:
            if self._poller is None:
                self._poller = PollingObserver(timeout=POLL_INTERVAL)
                self._poller.daemon = True
                self._poller.start()
            return self._poller
        if self._native is None:
            self._native = Observer()
            self._native.daemon = True
            self._native.start()
        return self._native

    def _schedule(self, folder: Folder) -> None:
        folder.ident = _ident(folder.root)
        if folder.ident is None:
            self._report_missing(folder)
            return
        try:
            observer = self._observer(self.polling)
            folder.watch = observer.schedule(folder.handler, folder.root, recursive=True)
            self.kinds[folder.job] = "polling" if self.polling else "native"
        except OSError as exc:
            # inotify limits (max_user_watches, max_user_instances): poll instead
            self.log.warning("native file-system events unavailable; polling the folder", job=folder.job,
                             folder=folder.root, error=str(exc), interval=POLL_INTERVAL)
            observer = self._observer(True)
            folder.watch = observer.schedule(folder.handler, folder.root, recursive=True)
            self.kinds[folder.job] = "polling"
        folder.observer = observer
        folder.missing_reported = False

    def _unschedule(self, folder: Folder) -> None:
        if folder.observer is not None and folder.watch is not None:
            with contextlib.suppress(KeyError, OSError):
                folder.observer.unschedule(folder.watch)
        folder.watch = folder.observer = None

    def _report_missing(self, folder: Folder) -> None:
        if not folder.missing_reported:
            self.log.warning("source folder missing; watching for it to come back", job=folder.job,
                             folder=folder.root)
            folder.missing_reported = True

    def check(self) -> None:
        """Restart dead observers and re-watch missing or replaced folders (see the module docstring)."""
        now = self.clock()
        for attr in ("_native", "_poller"):
            observer: BaseObserver | None = getattr(self, attr)
            if observer is not None and not observer.is_alive():
                self.log.warning("file-system observer stopped; restarting it and re-planning in full")
                setattr(self, attr, None)
                self.restarts += 1
                for folder in self.folders:
                    if folder.observer is observer:
                        folder.watch = folder.observer = None
                        folder.collector.lost("the file-system observer was restarted", now)
        for folder in self.folders:
            ident = _ident(folder.root)
            if ident is None:
                if folder.watch is not None or folder.ident is not None:
                    self._unschedule(folder)
                    folder.ident = None
                self._report_missing(folder)
                continue
            if ident != folder.ident or folder.watch is None:
                back = folder.ident is None
                self._unschedule(folder)
                self._schedule(folder)
                folder.collector.lost("the source folder is back" if back else "the source folder was replaced",
                                      now)

    def present(self, job: str) -> bool:
        """Whether the job's folder exists as far as the last check knows."""
        return any(f.job == job and f.ident is not None for f in self.folders)

    def stop(self) -> None:
        """Stop every observer thread."""
        for observer in (self._native, self._poller):
            if observer is not None:
                observer.stop()
        for observer in (self._native, self._poller):
            if observer is not None and observer.is_alive():
                observer.join(timeout=5)
        self._native = self._poller = None
