"""Progress: nothing unless stderr is a terminal; the rich subscriber survives a whole job."""

from __future__ import annotations

import io
import sys

import pytest

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.executor.events import EventBus
from kodo_jobs.executor.progress import RichProgress, maybe_progress


def test_no_progress_without_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert maybe_progress() == []
    assert len(maybe_progress(True)) == 1


def test_rich_progress_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    p = RichProgress()
    bus = EventBus([p])
    bus.job_started("site", 2, 2048)
    for i in range(2):
        a = Action("site", "upload", f"k{i}", size=1024)
        bus.progress(1024)
        bus.action_done(a, Outcome(a.id, "done", bytes=1024))
    assert p._files_done == 2 and bus.bytes_sent == 2048 and bus.actions_done == 2
    bus.job_finished("site")
    bus.close()
    assert "site" in err.getvalue()
