"""SqliteStore unit tests with a controllable clock: expiry, insert-only, copies, crash-safe layout."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.errors import KeyExists, NoSuchKey
from kodo_jobs.emulator.store import SqliteStore
from kodo_jobs.emulator.store.changes import midnight_after

DAY = 86400


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> tuple[SqliteStore, Clock]:
    clock = Clock(1_700_000_000.0)
    s = SqliteStore(Database(tmp_path), clock=clock)
    s.create_bucket("b")
    return s, clock


def _put(s: SqliteStore, key: str, data: bytes, **kw: object) -> None:
    s.put_object("b", key, io.BytesIO(data), mime="text/plain", fsize=len(data), hash=f"h-{data!r}", **kw)  # type: ignore[arg-type]


def test_delete_after_days_expires_object_lazily(store: tuple[SqliteStore, Clock]) -> None:
    s, clock = store
    _put(s, "k", b"x", delete_after_days=1)
    expiration = s.stat("b", "k").expiration
    assert expiration == midnight_after(clock.now, 1)
    assert (expiration + 8 * 3600) % DAY == 0  # midnight, China time
    clock.now = expiration - 1
    assert s.count_objects() == 1
    clock.now = expiration
    with pytest.raises(NoSuchKey):
        s.stat("b", "k")
    assert s.list("b")[0] == [] and s.count_objects() == 0
    _put(s, "k", b"new", insert_only=True)  # an expired key no longer blocks insert-only uploads
    assert s.stat("b", "k").fsize == 3


def test_insert_only_same_hash_is_success_different_is_614(store: tuple[SqliteStore, Clock]) -> None:
    s, _ = store
    _put(s, "k", b"one")
    _put(s, "k", b"one", insert_only=True)
    with pytest.raises(KeyExists):
        _put(s, "k", b"two", insert_only=True)
    with open(s.get_object_path("b", "k"), "rb") as f:
        assert f.read() == b"one"
    assert len([p for p in s.db.objects_dir.rglob("*") if p.is_file()]) == 1  # the refused blob was removed
