"""Paged hash-cache lookups answer exactly like one SELECT per path, with few queries in order."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kodo_jobs.executor.checkpoint import Checkpoint
from kodo_jobs.executor.etag_pages import EtagPages


def _db(rows: dict[str, tuple[int, int, str]]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("CREATE TABLE hash_cache (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
               "mtime_ns INTEGER NOT NULL, etag TEXT NOT NULL)")
    db.executemany("INSERT INTO hash_cache VALUES (?, ?, ?, ?)", [(p, *v) for p, v in rows.items()])
    return db


def test_ordered_pass_reads_pages_not_rows() -> None:
    rows = {f"/src/d{i // 100}/f{i:05d}": (i, i * 7, f"etag{i}") for i in range(2000)}
    pages = EtagPages(_db(rows), rows=256)
    wanted = sorted(rows) + ["/src/zz-missing"]
    for path in wanted:
        assert pages.get(path) == rows.get(path)
    assert pages.queries <= 2000 // 256 + 3


def test_missing_paths_between_rows_and_after_the_end() -> None:
    rows = {"/a/1": (1, 1, "x"), "/a/3": (3, 3, "z")}
    pages = EtagPages(_db(rows), rows=1)
    assert pages.get("/a/0") is None
    assert pages.get("/a/1") == (1, 1, "x")
    assert pages.get("/a/2") is None
    assert pages.get("/a/3") == (3, 3, "z")
    assert pages.get("/a/4") is None


def test_put_keeps_the_page_true() -> None:
    db = _db({"/a/1": (1, 1, "old"), "/a/5": (5, 5, "e")})
    pages = EtagPages(db)
    assert pages.get("/a/1") == (1, 1, "old")
    db.execute("INSERT OR REPLACE INTO hash_cache VALUES ('/a/1', 2, 2, 'new'), ('/a/3', 3, 3, 'n3')")
    pages.put("/a/1", 2, 2, "new")
    pages.put("/a/3", 3, 3, "n3")
    assert pages.get("/a/1") == (2, 2, "new")
    assert pages.get("/a/3") == (3, 3, "n3")


def test_a_cold_cache_page_does_not_grow_with_every_new_etag() -> None:
    """Issue 20: an empty cache gives an open-ended page; every etag a cold plan stored went into
    it (a million-file download held them all in memory)."""
    db = _db({})
    pages = EtagPages(db, rows=64)
    held = 0
    for i in range(10_000):
        path = f"/src/f{i:06d}"
        assert pages.get(path) is None
        db.execute("INSERT INTO hash_cache VALUES (?, 1, 1, 'e')", (path,))
        pages.put(path, 1, 1, "e")
        held = max(held, len(pages._values))
    assert held <= 2 * 64
    assert all(pages.get(f"/src/f{i:06d}") == (1, 1, "e") for i in range(0, 10_000, 97))


_paths = st.text(alphabet="ab/\0é", min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.dictionaries(_paths, st.tuples(st.integers(0, 9), st.integers(0, 9), st.sampled_from("xyz")),
                         max_size=30),
    ops=st.lists(st.tuples(st.booleans(), _paths, st.integers(0, 9)), max_size=60),
    page_rows=st.integers(1, 8),
)
def test_same_answers_as_a_point_query(rows: dict[str, tuple[int, int, str]],
                                       ops: list[tuple[bool, str, int]], page_rows: int) -> None:
    db = _db(rows)
    model = dict(rows)
    pages = EtagPages(db, rows=page_rows)
    for write, path, n in ops:
        if write:
            db.execute("INSERT OR REPLACE INTO hash_cache VALUES (?, ?, ?, ?)", (path, n, n, "w"))
            pages.put(path, n, n, "w")
            model[path] = (n, n, "w")
        else:
            assert pages.get(path) == model.get(path)


def test_checkpoint_etag_for_checks_the_fingerprint(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "s.kjstate") as cp:
        for i in range(50):
            cp.remember_etag(f"/src/f{i:03d}", i, i + 1, f"e{i}")
        cp.flush()
    with Checkpoint(tmp_path / "s.kjstate") as cp:
        assert [cp.etag_for(f"/src/f{i:03d}", i, i + 1) for i in range(50)] == [f"e{i}" for i in range(50)]
        assert cp.etag_for("/src/f007", 7, 9) is None  # other mtime
        assert cp.etag_for("/src/f007", 8, 8) is None  # other size
        assert cp.etag_for("/src/f0071", 7, 8) is None  # no row
        cp.remember_etag("/src/f010", 10, 12, "changed")
        assert cp.etag_for("/src/f010", 10, 12) == "changed"
        assert cp.etag_for("/src/f010", 10, 11) is None
