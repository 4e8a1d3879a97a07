"""The sync planner with fake streams: streaming memory, and verdicts that need odd inputs."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.jobs.base import JobContext
from kodo_jobs.jobs.sync import kind as sync_mod
from kodo_jobs.jobs.sync.kind import KIND, DeleteLimitExceeded
from kodo_jobs.jobs.sync.walk import LocalFile, WalkError
from kodo_jobs.kodo.etag import etag_file, etag_file_v2
from kodo_jobs.manifest.spec_sync import SyncJob
from tests.jobs.sync.test_hashing import DictState


@dataclass(frozen=True)
class Entry:
    key: str
    hash: str
    fsize: int
    put_time_100ns: int = 0


@dataclass(frozen=True)
class Page:
    entries: tuple[Entry, ...]
    marker: str


class FakeRsf:
    """rsf.page over a generated listing, 1000 entries per page, nothing kept in memory."""

    def __init__(self, n: int, make: Any) -> None:
        self.n = n
        self.make = make
        self.calls = 0

    def page(self, bucket: str, *, prefix: str = "", marker: str = "", **_: Any) -> Page:
        self.calls += 1
        start = int(marker or 0)
        end = min(self.n, start + 1000)
        return Page(tuple(self.make(i) for i in range(start, end)), str(end) if end < self.n else "")


class FakeClient:
    def __init__(self, rsf: FakeRsf, domains: tuple[str, ...] = ("dl.example.com",)) -> None:
        self.rsf = rsf
        self.domains = domains

    def download_base(self, bucket: str) -> str:
        from kodo_jobs.kodo.errors import NoDomain

        if not self.domains:
            raise NoDomain(f"bucket {bucket!r} has no domain bound")
        return f"https://{self.domains[0]}"


def _spec(source: Path, **fields: Any) -> SyncJob:
    return SyncJob.model_validate({"name": "s", "kind": "sync", "source": str(source), "bucket": "bkt", **fields})


def test_plan_of_200k_files_streams_in_constant_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = 200_000

    def fake_walk(*_: Any, **__: Any) -> Iterator[LocalFile]:
        for i in range(n):
            yield LocalFile(f"k{i:07d}", f"/nowhere/{i:07d}", 10 + i % 3, 1)

    # the remote has every other key, with the same size for half of those (compare: size)
    rsf = FakeRsf(n // 2, lambda i: Entry(f"k{2 * i:07d}", "h", 10 + (2 * i) % 3 + (i % 2)))
    monkeypatch.setattr(sync_mod, "walk", fake_walk)
    spec = _spec(tmp_path, compare="size")
    ctx = JobContext(client=FakeClient(rsf), spec=spec, state=DictState())
    counts: dict[str, int] = {}
    tracemalloc.start()
    try:
        for action in KIND.plan(spec, ctx):
            counts[action.op] = counts.get(action.op, 0) + 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert counts == {"upload": n // 2, "same": n // 4, "update": n // 4}
    assert rsf.calls == n // 2 // 1000
    assert peak < 8 * 1024 * 1024, f"planning kept {peak / 1e6:.1f} MB alive: it must stream"


def test_unreadable_directory_protects_remote_keys_below_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_walk(*_: Any, **__: Any) -> Iterator[object]:
        yield LocalFile("a", "/x/a", 1, 1)
        yield WalkError("d/", "/x/d", "cannot list directory: Permission denied", subtree=True)

    rsf = FakeRsf(4, lambda i: Entry(["a", "d/1", "d/2", "e"][i], "h", 1))
    monkeypatch.setattr(sync_mod, "walk", fake_walk)
    spec = _spec(tmp_path, compare="size", delete=True)
    actions = list(KIND.plan(spec, JobContext(client=FakeClient(rsf), spec=spec, state=DictState())))
    assert [(a.op, a.key) for a in actions] == [
        ("same", "a"), ("error", "d/"), ("skip", "d/1"), ("skip", "d/2"), ("delete", "e"),
    ]
    assert actions[-1].phase == 1


def test_v2_hash_with_other_part_size_is_compared_with_our_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mib = 1024 * 1024
    (tmp_path / "big").write_bytes(b"z" * (3 * mib))
    v2 = etag_file_v2(tmp_path / "big", mib)
    assert v2.startswith("n")
    for part_size, remote, expected in [
        ("1MiB", v2, "same"),  # we upload the same way: comparable
        ("2MiB", v2, "update"),  # another part size: cannot be compared, so re-upload
        ("1MiB", etag_file(tmp_path / "big"), "same"),  # a plain qetag is always comparable
    ]:
        rsf = FakeRsf(1, lambda i, remote=remote: Entry("big", remote, 3 * mib))
        spec = _spec(tmp_path, upload={"resumable": "v2", "threshold": "1MiB", "part_size": part_size})
        actions = list(KIND.plan(spec, JobContext(client=FakeClient(rsf), spec=spec, state=DictState())))
        assert [(a.op, a.key) for a in actions] == [(expected, "big")], part_size


def test_percent_limit_counts_every_listed_object(tmp_path: Path) -> None:
    rsf = FakeRsf(10, lambda i: Entry(f"k{i}", "h", 1))
    spec = _spec(tmp_path, delete=True, max_delete="20%")  # the folder is empty: 10 deletes > 2
    with pytest.raises(DeleteLimitExceeded, match=r"refusing to delete 10 of 10 .*max_delete: 10"):
        list(KIND.plan(spec, JobContext(client=FakeClient(rsf), spec=spec, state=DictState())))


def test_soft_delete_params(tmp_path: Path) -> None:
    rsf = FakeRsf(1, lambda i: Entry("p/gone", "h", 3))
    for soft, key, value in [({"trash_prefix": "trash/"}, "trash_key", "trash/{run_id}/p/gone"),
                             ({"delete_after_days": 7}, "delete_after_days", 7)]:
        spec = _spec(tmp_path, prefix="p/", delete=True, soft_delete=soft)
        (action,) = KIND.plan(spec, JobContext(client=FakeClient(rsf), spec=spec, state=DictState()))
        assert (action.op, action.phase, action.params[key]) == ("delete", 1, value)


def test_download_direction_plans_downloads(tmp_path: Path) -> None:
    """direction: download is handled by jobs/sync/download.py (tests/e2e/test_download.py)."""
    rsf = FakeRsf(1, lambda i: Entry("only-remote", "h", 3))
    spec = _spec(tmp_path, direction="download")
    (action,) = KIND.plan(spec, JobContext(client=FakeClient(rsf), spec=spec, state=DictState()))
    assert (action.op, action.key, action.phase) == ("download", "only-remote", 0)


def test_download_from_a_bucket_without_domain_stops_before_listing(tmp_path: Path) -> None:
    from kodo_jobs.jobs.sync.download import DownloadInputError

    rsf = FakeRsf(1, lambda i: Entry("only-remote", "h", 3))
    spec = _spec(tmp_path, direction="download")
    with pytest.raises(DownloadInputError, match="job s: bucket 'bkt' has no domain bound") as caught:
        list(KIND.plan(spec, JobContext(client=FakeClient(rsf, domains=()), spec=spec, state=DictState())))
    assert caught.value.exit_code == 2
    assert rsf.calls == 0


def test_keys_over_750_bytes_are_errors(tmp_path: Path) -> None:
    (tmp_path / ("é" * 100)).write_text("x")  # 200 bytes; with the prefix below 800
    spec = _spec(tmp_path, prefix="p" * 600 + "/")
    (action,) = KIND.plan(spec, JobContext(client=FakeClient(FakeRsf(0, None)), spec=spec, state=DictState()))
    assert action.op == "error" and "750" in action.params["message"]


def test_unsorted_remote_listing_aborts(tmp_path: Path) -> None:
    from kodo_jobs.errors import RunAborted

    rsf = FakeRsf(2, lambda i: Entry(["b", "a"][i], "h", 1))
    spec = _spec(tmp_path)
    with pytest.raises(RunAborted, match="not sorted"):
        list(KIND.plan(spec, JobContext(client=FakeClient(rsf), spec=spec, state=DictState())))


def test_a_failing_planner_leaves_no_listing_thread_behind(tmp_path: Path) -> None:
    """Page 2 is being retried (30 s pauses) in the read-ahead thread when page 1 turns out
    unsorted: the planner stops at once and the read-ahead thread is gone with it."""
    import threading

    from kodo_jobs.errors import RunAborted
    from kodo_jobs.kodo import errors as kodo_errors

    retrying = threading.Event()

    class LateEntry(Entry):
        """Its key is read only once page 2 is being fetched (and retried)."""

        def __getattribute__(self, name: str) -> Any:
            if name == "key":
                assert retrying.wait(10)
            return super().__getattribute__(name)

    class Rsf:
        def page(self, bucket: str, *, prefix: str = "", marker: str = "", **_: Any) -> Page:
            if not marker:
                return Page((Entry("b", "h", 1), LateEntry("a", "h", 1)), "2")
            retrying.set()
            raise kodo_errors.ServerError("503 for page 2")

    spec = _spec(tmp_path, retry={"attempts": 5, "initial_wait": "30s", "max_wait": "30s"})
    plan = KIND.plan(spec, JobContext(client=FakeClient(Rsf()), spec=spec, state=DictState()))  # type: ignore[arg-type]
    with pytest.raises(RunAborted, match="not sorted"):
        list(plan)
    assert retrying.is_set()
    assert not [t for t in threading.enumerate() if t.name == "kodo-jobs-list-ahead"]
