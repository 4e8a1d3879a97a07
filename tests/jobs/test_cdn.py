"""cdn: chunking under per-request limits and the daily quota book (pure)."""

from __future__ import annotations

import pytest

from kodo_jobs.jobs.quota import QuotaBook, QuotaBooks, chunked


@pytest.mark.parametrize(("n", "size", "lengths"), [(250, 60, [60, 60, 60, 60, 10]), (0, 5, []), (5, 5, [5]), (6, 5, [5, 1])])
def test_chunked(n: int, size: int, lengths: list[int]) -> None:
    items = list(range(n))
    chunks = list(chunked(items, size))
    assert [len(c) for c in chunks] == lengths
    assert [x for c in chunks for x in c] == items


def test_chunked_refuses_zero() -> None:
    with pytest.raises(ValueError):
        list(chunked([1], 0))


def test_quota_learnt_from_answers_limits_the_next_request() -> None:
    book = QuotaBook()
    assert book.allowance("refresh", 60) == 60  # unknown yet: send the chunk
    book.record_answer("refresh", {"code": 200, "urlQuotaDay": 100, "urlSurplusDay": 40}, sent=60)
    assert book.allowance("refresh", 60) == 40
    assert book.allowance("refresh_dir", 10) == 10  # other quotas untouched
    book.record_answer("refresh", {"code": 200, "urlSurplusDay": 0}, sent=40)
    assert book.allowance("refresh", 1) == 0
    assert "URL refresh quota of 100 is used up" in book.message("refresh")


def test_prefetch_fields_and_countdown_without_fields() -> None:
    book = QuotaBook()
    book.record_answer("prefetch", {"quotaDay": 10, "surplusDay": 3}, sent=1)
    book.record_answer("prefetch", {}, sent=2)  # an answer without the fields: count down
    assert book.left("prefetch") == 1
    book.mark_exhausted("prefetch")
    assert book.allowance("prefetch", 5) == 0


def test_books_are_per_run() -> None:
    books = QuotaBooks()
    books.get("r1").mark_exhausted("refresh")
    assert books.get("r1").allowance("refresh", 1) == 0
    assert books.get("r2").allowance("refresh", 1) == 1
