"""rsf read-ahead: pages in order, one page ahead at most, errors in the reader, no thread left."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from kodo_jobs.kodo import errors
from kodo_jobs.kodo.rsf import ListEntry, ListPage, pages_ahead


def _ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "kodo-jobs-list-ahead"]


class Pages:
    """``n`` pages of two entries each; markers "1".."n-1"; records what was asked and when."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n = n
        self.fail_at = fail_at
        self.asked: list[str] = []
        self.finished = 0
        self.changed = threading.Condition()

    def wait_finished(self, n: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.finished >= n, timeout=10)

    def __call__(self, marker: str, stop: threading.Event) -> ListPage:
        try:
            self.asked.append(marker)
            i = int(marker or 0)
            if i == self.fail_at:
                raise errors.ServerError(f"page {i} failed")
            entries = tuple(ListEntry(f"k{i}-{j}", 1, "h", 0) for j in range(2))
            return ListPage(entries, (), str(i + 1) if i + 1 < self.n else "")
        finally:
            with self.changed:
                self.finished += 1
                self.changed.notify_all()


def test_pages_come_in_order_and_each_is_fetched_once() -> None:
    fetch = Pages(5)
    keys = [e.key for page in pages_ahead(fetch) for e in page.entries]
    assert keys == [f"k{i}-{j}" for i in range(5) for j in range(2)]
    assert fetch.asked == ["", "1", "2", "3", "4"]
    assert not _ahead_threads()


def test_at_most_one_page_is_fetched_ahead() -> None:
    fetch = Pages(6)
    for i, page in enumerate(pages_ahead(fetch)):
        assert page.entries[0].key == f"k{i}-0"
        if page.marker:
            fetch.wait_finished(i + 2)  # the next page was read ahead while this one is worked on...
        # ...and nothing beyond it
        assert fetch.asked == ["", *(str(k) for k in range(1, min(i + 2, 6)))]
    assert len(fetch.asked) == 6


def test_an_error_is_raised_in_the_reader_when_its_page_is_due() -> None:
    fetch = Pages(5, fail_at=2)
    seen: list[str] = []
    with pytest.raises(errors.ServerError, match="page 2 failed"):
        for page in pages_ahead(fetch):
            seen.append(page.entries[0].key)
    assert seen == ["k0-0", "k1-0"]  # the pages before the failure were all delivered
    assert "3" not in fetch.asked
    assert not _ahead_threads()


def test_closing_stops_the_fetch_in_flight_and_leaves_no_thread() -> None:
    started = threading.Event()
    stopped: list[bool] = []

    def slow(marker: str, stop: threading.Event) -> ListPage:
        if not marker:
            return ListPage((ListEntry("a", 1, "h", 0),), (), "m")
        started.set()
        stopped.append(stop.wait(30))  # a retry pause: ends as soon as the reader is gone
        return ListPage((), (), "")

    pages: Iterator[ListPage] = pages_ahead(slow)
    assert next(pages).entries[0].key == "a"
    assert started.wait(10)
    pages.close()  # type: ignore[attr-defined]
    assert stopped == [True]
    assert not _ahead_threads()


def test_a_repeated_marker_is_an_error_not_an_endless_listing() -> None:
    def same(marker: str, stop: threading.Event) -> ListPage:
        return ListPage((), (), "again")

    with pytest.raises(errors.ServerError, match="same marker"):
        list(pages_ahead(same))
    assert not _ahead_threads()


def test_list_entry_parses_what_the_planner_needs_and_dates_lazily() -> None:
    entry = ListEntry.from_json({"key": "a/b", "fsize": 3, "hash": "Fh", "putTime": 17_000_000_000_000_005,
                                 "mimeType": "text/plain", "type": 1, "md5": None})
    assert (entry.key, entry.fsize, entry.hash, entry.put_time_100ns, entry.mime_type, entry.type, entry.md5) == (
        "a/b", 3, "Fh", 17_000_000_000_000_005, "text/plain", 1, "")
    assert entry.put_time.year == 2023 and entry.put_time.microsecond == 0
    assert ListEntry.from_json({"key": "k"}).fsize == 0
    for bad in ({"fsize": 1}, {"key": "k", "fsize": "x"}, "not an object"):
        with pytest.raises(errors.ServerError, match="malformed list item"):
            ListEntry.from_json(bad)  # type: ignore[arg-type]
