"""The coalescing debouncer: when a batch is due, and memory bounded by collapsing to a full re-plan."""

from __future__ import annotations

from kodo_jobs.watch.debounce import Collector


def test_a_batch_is_due_a_debounce_after_the_last_event() -> None:
    c = Collector(debounce=2.0, max_wait=10.0)
    assert c.take(0.0).paths == frozenset() and c.due_at() is None
    c.touch("a", 0.0)
    c.touch("b", 1.5)
    c.touch("a", 1.9)
    assert c.due_at() == 3.9
    assert not c.take(3.8)
    batch = c.take(3.9)
    assert batch.paths == {"a", "b"} and not batch.full
    assert not c.take(100.0)


def test_a_file_written_without_pause_does_not_hold_back_the_batch_forever() -> None:
    c = Collector(debounce=2.0, max_wait=10.0)
    for t in range(0, 12):
        c.touch("busy.log", float(t))
        if t < 10:
            assert not c.take(float(t))
    assert c.take(10.0).paths == {"busy.log"}


def test_too_many_paths_collapse_into_a_full_replan_and_memory_stays_bounded() -> None:
    c = Collector(debounce=1.0, max_wait=5.0, max_paths=100)
    for i in range(100_000):
        c.touch(f"f{i}", 0.0)
    assert c.pending == 0
    batch = c.take(1.0)
    assert batch.full and batch.paths == frozenset() and "more than 100 touched paths" in batch.reasons[0]


def test_lost_events_make_a_full_replan_due_at_once() -> None:
    c = Collector(debounce=5.0, max_wait=30.0)
    c.touch("a", 0.0)
    c.lost("the inotify event queue overflowed", 1.0)
    batch = c.take(1.0)
    assert batch.full and batch.reasons == ("the inotify event queue overflowed",)
    assert c.wake.is_set()
