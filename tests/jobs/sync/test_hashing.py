"""Etags of many files (kodo_jobs.jobs.sync.hashing): cache first, ordered, inline or in processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from kodo_jobs.jobs.sync import hashing
from kodo_jobs.jobs.sync.hashing import Hasher, HashRequest
from kodo_jobs.kodo.etag import etag_file, etag_file_v2


class DictState:
    """A StateView with only the hash cache, counting lookups."""

    def __init__(self) -> None:
        self.cache: dict[str, tuple[int, int, str]] = {}

    def etag_for(self, path: str, size: int, mtime_ns: int) -> str | None:
        row = self.cache.get(path)
        return row[2] if row and row[:2] == (size, mtime_ns) else None

    def remember_etag(self, path: str, size: int, mtime_ns: int, etag: str) -> None:
        self.cache[path] = (size, mtime_ns, etag)

    def load_upload(self, action_id: str) -> str | None:
        return None

    def save_upload(self, action_id: str, state_json: str) -> None:
        pass

    def drop_upload(self, action_id: str) -> None:
        pass

    def get_value(self, key: str) -> str | None:
        return None

    def set_value(self, key: str, value: str | None) -> None:
        pass

    def prune_hash_cache(self, under: str, walked: Iterable[str], walked_count: int,
                         covers: Callable[[str], bool] | None = None) -> int:
        """Like the checkpoint: rows of files the walk did not see (and ``covers``) are dropped."""
        if len(self.cache) <= walked_count:
            return 0
        seen = set(walked)
        gone = [p for p in self.cache if p not in seen and (covers is None or covers(p))]
        for p in gone:
            del self.cache[p]
        return len(gone)


def _files(root: Path, n: int) -> list[HashRequest]:
    out = []
    for i in range(n):
        p = root / f"f{i:03d}"
        p.write_bytes(bytes([i % 256]) * (i * 37))
        os.utime(p, (1_700_000_000, 1_700_000_000))  # not "just modified": cacheable
        st = p.stat()
        out.append(HashRequest(str(p), st.st_size, st.st_mtime_ns))
    return out


def _want(item: object) -> HashRequest | None:
    return item if isinstance(item, HashRequest) else None


def test_stream_inline_is_ordered_and_fills_the_cache(tmp_path: Path) -> None:
    reqs = _files(tmp_path, 10)
    items: list[object] = [*reqs[:5], "not hashed", *reqs[5:]]
    state = DictState()
    hasher = Hasher(state, processes=1)
    out = list(hasher.stream(items, _want))
    assert [i for i, _ in out] == items
    assert out[5][1] is None
    for item, result in out:
        if isinstance(item, HashRequest):
            assert result is not None and result.etag == etag_file(item.path) and not result.cached
    assert (hasher.hashed_files, hasher.cache_hits) == (10, 0)
    assert len(state.cache) == 10

    again = Hasher(state, processes=1)
    out2 = list(again.stream(items, _want))
    assert [r.etag for _, r in out2 if r] == [r.etag for _, r in out if r]
    assert (again.hashed_files, again.cache_hits) == (0, 10)


def test_stream_with_process_pool_matches_inline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "INLINE_FIRST", 3)
    monkeypatch.setattr(hashing, "BATCH_FILES", 4)
    monkeypatch.setattr(hashing, "WINDOW", 5)  # forces blocking on the head batch too
    start_pool = hashing._Stream._pool_up

    def wait_for_pool(stream: hashing._Stream[HashRequest]) -> bool:
        start_pool(stream)  # starts it in the background...
        stream.pool_up.wait(60)  # ...and here every miss after the first 3 waits for it
        return start_pool(stream)

    monkeypatch.setattr(hashing._Stream, "_pool_up", wait_for_pool)
    inline: list[str] = []
    real = hashing.compute

    def counting(request: HashRequest) -> tuple[hashing.HashResult, bool]:
        inline.append(request.path)  # only calls in this process are seen
        return real(request)

    monkeypatch.setattr(hashing, "compute", counting)
    reqs = _files(tmp_path, 30)
    state = DictState()
    hasher = Hasher(state, processes=2)
    out = list(hasher.stream(reqs, _want))
    assert [i for i, _ in out] == reqs
    assert [r.etag for _, r in out if r] == [etag_file(r.path) for r in reqs]
    assert hasher.hashed_files == 30 and hasher.processes == 2
    assert len(inline) == 3  # the other 27 were hashed by the worker processes
    assert len(state.cache) == 30


def test_changed_file_is_not_cached(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    st = p.stat()
    stale = HashRequest(str(p), st.st_size + 1, st.st_mtime_ns)  # the walk saw another size
    state = DictState()
    result = Hasher(state).etag(stale)
    assert result.etag == etag_file(p)
    assert state.cache == {}


def test_missing_file_is_an_error_result(tmp_path: Path) -> None:
    result = Hasher(DictState()).etag(HashRequest(str(tmp_path / "gone"), 1, 1))
    assert result.etag is None and result.error and "cannot hash" in result.error


def test_v2_hash_is_cached_apart_from_v1(tmp_path: Path) -> None:
    p = tmp_path / "big"
    p.write_bytes(b"x" * (3 * 1024 * 1024))
    os.utime(p, (1_700_000_000, 1_700_000_000))
    st = p.stat()
    state = DictState()
    hasher = Hasher(state)
    v1 = hasher.etag(HashRequest(str(p), st.st_size, st.st_mtime_ns))
    v2 = hasher.etag(HashRequest(str(p), st.st_size, st.st_mtime_ns, part_size=1024 * 1024))
    assert v1.etag == etag_file(p)
    assert v2.etag == etag_file_v2(p, 1024 * 1024) != v1.etag
    assert len(state.cache) == 2


@pytest.mark.parametrize(
    ("resumable", "part_size", "size", "threshold", "expected"),
    [
        ("v1", 1 << 20, 10 << 20, 1 << 20, 0),
        ("v2", 4 << 20, 10 << 20, 1 << 20, 0),  # 4 MiB parts give the plain qetag
        ("v2", 1 << 20, 10 << 20, 1 << 20, 1 << 20),
        ("v2", 1 << 20, 1 << 20, 1 << 20, 0),  # at the threshold: form upload
    ],
)
def test_etag_kind_part_size(resumable: str, part_size: int, size: int, threshold: int, expected: int) -> None:
    assert hashing.etag_kind_part_size(resumable, part_size, size, threshold) == expected


def test_stream_falls_back_to_inline_without_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(*_: object, **__: object) -> None:
        raise OSError("no processes in this sandbox")

    monkeypatch.setattr(hashing, "INLINE_FIRST", 2)
    import concurrent.futures

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)  # imported when a pool starts
    reqs = _files(tmp_path, 12)
    hasher = Hasher(DictState(), processes=2)
    out = list(hasher.stream(reqs, _want))
    assert [r.etag for _, r in out if r] == [etag_file(r.path) for r in reqs]
    assert hasher.processes == 1


def test_just_modified_file_is_not_cached(tmp_path: Path) -> None:
    import time

    p = tmp_path / "hot"
    p.write_bytes(b"abc")
    now = time.time_ns()
    os.utime(p, ns=(now, now))  # modified "now": a same-size rewrite could keep this mtime
    state = DictState()
    result = Hasher(state).etag(HashRequest(str(p), 3, now))
    assert result.etag == etag_file(p) and state.cache == {}
    old = now - 5 * 10**9
    os.utime(p, ns=(old, old))
    Hasher(state).etag(HashRequest(str(p), 3, old))
    assert len(state.cache) == 1
