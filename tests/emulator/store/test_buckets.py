"""Buckets through the store: a missing bucket is 631, and ``auto_create`` makes it on first use."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.errors import NoSuchBucket
from kodo_jobs.emulator.store import SqliteStore
from tests.emulator.store.test_sqlite import Clock, _put


def test_unknown_bucket_and_auto_create(tmp_path: Path) -> None:
    s = SqliteStore(Database(tmp_path), clock=Clock(0.0))
    with pytest.raises(NoSuchBucket):
        _put(s, "k", b"x")
    auto = SqliteStore(Database(tmp_path / "auto"), clock=Clock(0.0), auto_create=True)
    auto.put_object("fresh", "k", io.BytesIO(b"x"), mime="a/b", fsize=1, hash="h")
    assert auto.list_buckets() == ["fresh"]
