"""The rolling delete window: max_delete over time, not only per batch."""

from __future__ import annotations

from kodo_jobs.manifest.types import Percent
from kodo_jobs.watch.window import DeleteWindow


def test_deletes_add_up_over_the_window_and_expire() -> None:
    w = DeleteWindow(Percent(10.0), seconds=60.0)
    assert w.allowance(1000, 0.0) == 100
    w.record(60, 0.0)
    w.record(30, 30.0)
    assert w.allowance(1000, 31.0) == 10
    assert w.allowance(1000, 61.0) == 70  # the first 60 left the window
    assert w.allowance(1000, 200.0) == 100


def test_without_max_delete_there_is_no_limit_and_counts_never_go_negative() -> None:
    assert DeleteWindow(None, 60.0).allowance(10, 0.0) is None
    w = DeleteWindow(5, 60.0)
    w.record(9, 0.0)
    assert w.allowance(0, 1.0) == 0
