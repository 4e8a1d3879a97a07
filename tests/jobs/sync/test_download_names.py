"""Keys that would share a local path (kodo_jobs.jobs.sync.download_names): the first wins."""

from __future__ import annotations

import tracemalloc

import pytest

from kodo_jobs.jobs.sync.download_names import KNOWN_DIRS, LocalNames


def _collision_checker() -> LocalNames:
    return LocalNames()


@pytest.mark.parametrize(("first", "second", "words"), [
    ("A.txt", "a.txt", "case"),
    ("dir", "dir/ok.txt", "is a file there"),
    ("Dir", "dir/ok.txt", "is a file there"),
    ("DIR/x", "dir", "directory holding"),
    ("a/B/c", "a/b", "directory holding"),
    ("straße.txt", "STRASSE.txt", "case"),
])
def test_keys_that_would_share_a_local_path_collide(first: str, second: str, words: str) -> None:
    planner = _collision_checker()
    assert planner.collision(first, "p/" + first) is None
    reason = planner.collision(second, "p/" + second)
    assert reason is not None and words in reason and repr("p/" + first) in reason


def test_distinct_names_do_not_collide() -> None:
    planner = _collision_checker()
    for rel in ("a.txt", "a.txt.bak", "dir/x", "dir/y", "dir2", "dir-a/x", "b/a.txt"):
        assert planner.collision(rel, rel) is None


def test_a_known_directory_is_never_taken_for_a_file() -> None:
    names = _collision_checker()
    for i in range(KNOWN_DIRS + 10):  # more directories than the in-memory set holds
        assert names.collision(f"d{i}/f", f"d{i}/f") is None
    assert "directory holding" in (names.collision("D0", "D0") or "")  # registered long ago, on disk
    assert "directory holding" in (names.collision("d9", "d9") or "")
    assert names.collision("file", "file") is None
    for i in range(KNOWN_DIRS + 10):
        assert names.collision(f"e{i}/f", f"e{i}/f") is None
    assert "is a file there" in (names.collision("FILE/x/y", "FILE/x/y") or "")


def test_memory_stays_flat_over_many_keys() -> None:
    """200,000 keys: the Python heap's peak stays far below what a dict of them took (about
    40 MB for this many); the names are in the temporary database."""
    with LocalNames() as names:
        tracemalloc.start()
        try:
            for i in range(200_000):
                assert names.collision(f"photos/{i // 1000:04d}/IMG_{i:07d}.jpg", f"k{i}") is None
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 5_000_000
