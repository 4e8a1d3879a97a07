"""The state file itself: permissions, format marker, foreign/corrupt files, WAL."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from kodo_jobs.errors import StateFileError
from kodo_jobs.executor.checkpoint import Checkpoint

from ..fakes import actions


def test_created_0600_with_marker(tmp_path: Path) -> None:
    p = tmp_path / "s.kjstate"
    Checkpoint(p).close()
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    meta = dict(sqlite3.connect(p).execute("SELECT k, v FROM meta").fetchall())
    assert meta == {"format": "kodo-jobs-state", "schema": "1"}
    Checkpoint(p).close()  # reopening works


def test_text_file_is_refused_and_kept(tmp_path: Path) -> None:
    p = tmp_path / "s.kjstate"
    p.write_text("hello, I am a shopping list\n")
    with pytest.raises(StateFileError, match="not a kodo-jobs state file"):
        Checkpoint(p)
    assert p.read_text() == "hello, I am a shopping list\n"


def test_foreign_sqlite_refused(tmp_path: Path) -> None:
    p = tmp_path / "s.kjstate"
    db = sqlite3.connect(p)
    db.execute("CREATE TABLE customers (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(StateFileError):
        Checkpoint(p)
    assert sqlite3.connect(p).execute("SELECT count(*) FROM customers").fetchone() == (0,)


def test_other_schema_version_refused(tmp_path: Path) -> None:
    p = tmp_path / "s.kjstate"
    Checkpoint(p).close()
    db = sqlite3.connect(p)
    db.execute("UPDATE meta SET v = '99' WHERE k = 'schema'")
    db.commit()
    db.close()
    with pytest.raises(StateFileError, match="schema 99"):
        Checkpoint(p)


def test_truncated_file_refused(tmp_path: Path) -> None:
    p = tmp_path / "s.kjstate"
    with Checkpoint(p) as cp:
        cp.store_plan("j", actions("j", 3000), gen="g")
    data = p.read_bytes()
    p.write_bytes(data[:100] + b"\xff" * 4000 + data[4100:])
    with pytest.raises(StateFileError):
        cp2 = Checkpoint(p)
        list(cp2.iter_actions())
        cp2.counts()


def test_wal_and_readonly_snapshot(tmp_path: Path) -> None:
    p = tmp_path / "s"
    with Checkpoint(p) as cp:
        cp.store_plan("j", actions("j", 3), gen="g")
        assert cp._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with Checkpoint(p, create=False) as reader:
            assert reader.pending_count("j") == 3
    assert os.path.exists(p)
