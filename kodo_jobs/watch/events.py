"""watchdog events -> touched source-relative paths, and the signals that events were lost.

Only changes count: opening or reading a file (our own uploads read every file they send)
and a directory's own "modified" event (its entries changed, and those have events of their
own) are ignored, or every upload would schedule another batch. A move touches both ends.
The watched folder itself going away means every later event is lost until it is watched
again: the collector is told so (:class:`~kodo_jobs.watch.debounce.Collector.lost`).

An overflowed inotify queue is not an event: watchdog (7.x) handles ``IN_Q_OVERFLOW`` by
re-adding its watches and logs ``Inotify queue overflowed`` on its own logger, and that log
record is the only trace of it. :class:`OverflowAlarm` is a logging handler on that logger
that turns the record into a full re-plan of every job.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler

from kodo_jobs.watch.debounce import Collector

IGNORED = frozenset({"opened", "closed_no_write"})
WATCHDOG_LOGGERS = ("watchdog.observers.inotify_c", "watchdog.observers.inotify")


class TouchHandler(FileSystemEventHandler):
    """Feeds one job's collector with the paths its events touch (runs in the observer thread)."""

    def __init__(self, root: str, collector: Collector, clock: Callable[[], float], *, own: str = "") -> None:
        super().__init__()
        self.root = os.path.abspath(root)
        self.collector = collector
        self.clock = clock
        self.own = os.path.abspath(own) if own else ""
        """The state file: when it lies inside the folder, its own writes (``-wal``, ``-shm``,
        ``.lock``) are not changes, or every batch would schedule the next one."""

    def on_any_event(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if kind in IGNORED or (event.is_directory and kind == "modified"):
            return
        now = self.clock()
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(raw)
            if not path or (self.own and os.path.abspath(path).startswith(self.own)):
                continue
            rel = self.relative(path)
            if rel is None:
                continue
            if rel == "":
                if kind in ("deleted", "moved"):
                    self.collector.lost("the source folder was removed or moved", now)
                continue
            self.collector.touch(rel, now)

    def relative(self, path: str) -> str | None:
        """``path`` relative to the root with ``/`` separators ("" for the root, None outside)."""
        path = os.path.abspath(path)
        if path == self.root:
            return ""
        if not path.startswith(self.root + os.sep):
            return None
        return path[len(self.root) + 1:].replace(os.sep, "/")


class OverflowAlarm(logging.Handler):
    """Calls ``on_overflow`` when watchdog logs that the kernel dropped events."""

    def __init__(self, on_overflow: Callable[[str], None]) -> None:
        super().__init__(level=logging.WARNING)
        self.on_overflow = on_overflow

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.on_overflow("the inotify event queue overflowed")

    def install(self) -> None:
        """Listen on watchdog's inotify loggers (their level is lowered to WARNING if needed)."""
        for name in WATCHDOG_LOGGERS:
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() > logging.WARNING:
                logger.setLevel(logging.WARNING)
            logger.addHandler(self)

    def uninstall(self) -> None:
        for name in WATCHDOG_LOGGERS:
            logging.getLogger(name).removeHandler(self)
