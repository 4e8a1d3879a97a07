"""watchdog events -> touched paths; reads of our own uploads are not changes; overflow alarm."""

from __future__ import annotations

import logging
from pathlib import Path

from watchdog.events import (
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileOpenedEvent,
)

from kodo_jobs.watch.debounce import Collector
from kodo_jobs.watch.events import OverflowAlarm, TouchHandler


def _handler(root: Path) -> tuple[TouchHandler, Collector]:
    c = Collector(debounce=0.0, max_wait=0.0)
    return TouchHandler(str(root), c, lambda: 1.0), c


def test_changes_touch_relative_paths_and_reads_do_not(tmp_path: Path) -> None:
    h, c = _handler(tmp_path)
    for ev in (FileOpenedEvent(str(tmp_path / "a")), FileClosedNoWriteEvent(str(tmp_path / "a")),
               DirModifiedEvent(str(tmp_path / "d")), FileCreatedEvent(str(tmp_path.parent / "elsewhere"))):
        h.dispatch(ev)
    assert c.due_at() is None
    h.dispatch(FileCreatedEvent(str(tmp_path / "d" / "new.txt")))
    h.dispatch(FileClosedEvent(str(tmp_path / "w.bin")))
    h.dispatch(FileDeletedEvent(str(tmp_path / "old")))
    h.dispatch(DirMovedEvent(str(tmp_path / "x"), str(tmp_path / "y" / "z")))
    assert c.take(5.0).paths == {"d/new.txt", "w.bin", "old", "x", "y/z"}


def test_the_watched_folder_itself_going_away_means_a_full_replan(tmp_path: Path) -> None:
    h, c = _handler(tmp_path)
    h.dispatch(DirDeletedEvent(str(tmp_path)))
    assert c.take(5.0).full


def test_watchdogs_overflow_warning_raises_the_alarm() -> None:
    seen: list[str] = []
    alarm = OverflowAlarm(seen.append)
    alarm.install()
    try:
        logging.getLogger("watchdog.observers.inotify_c").warning("Inotify queue overflowed; filesystem events were lost")
        logging.getLogger("watchdog.observers.inotify_c").warning("something else")
    finally:
        alarm.uninstall()
    assert seen == ["the inotify event queue overflowed"]


def test_the_watchers_own_state_file_inside_the_folder_is_not_a_change(tmp_path: Path) -> None:
    c = Collector(debounce=0.0, max_wait=0.0)
    h = TouchHandler(str(tmp_path), c, lambda: 1.0, own=str(tmp_path / "m.kjstate"))
    for name in ("m.kjstate", "m.kjstate-wal", "m.kjstate-shm", "m.kjstate.lock"):
        h.dispatch(FileClosedEvent(str(tmp_path / name)))
    assert c.due_at() is None
    h.dispatch(FileClosedEvent(str(tmp_path / "page.html")))
    assert c.take(1.0).paths == {"page.html"}
