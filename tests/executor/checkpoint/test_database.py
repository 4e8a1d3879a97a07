"""The state file itself: permissions, format marker, foreign/corrupt files, WAL."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from kodo_jobs.errors import StateFileError
from kodo_jobs.executor.checkpoint import Checkpoint, database

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


def test_size_info_counts_the_big_tables(tmp_path: Path) -> None:
    p = tmp_path / "s.kjstate"
    with Checkpoint(p) as cp:
        cp.begin_run("r1", "A", ["j"], dry_run=False)
        cp.store_plan("j", actions("j", 7), gen="g")
        for i in range(3):
            cp.remember_etag(f"/src/f{i}", 1, 1, "F")
        cp.end_run("r1", "ok", {})
        info = cp.size_info()
        assert (info.hash_cache_rows, info.actions_rows, info.runs_rows) == (3, 7, 1)
        wal = Path(f"{p}-wal")
        assert info.file_bytes == p.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
        assert 0 <= info.free_bytes < info.file_bytes
    with Checkpoint(p, create=False, readonly=True) as ro:
        assert ro.size_info().actions_rows == 7


def test_a_mostly_empty_file_is_rewritten_at_the_end_of_a_run(tmp_path: Path) -> None:
    """A huge first plan replaced by a small one leaves mostly free pages: ``end_run`` gives
    them back (``VACUUM``); a file without much free space is left as it is."""
    p = tmp_path / "s.kjstate"
    with Checkpoint(p) as cp:
        cp.begin_run("r1", "A", ["j"], dry_run=False)
        cp.store_plan("j", actions("j", 40_000), gen="g1")
        cp.end_run("r1", "ok", {})
        big = cp.size_info()
        assert big.file_bytes > database.VACUUM_MIN_BYTES and big.free_bytes < big.file_bytes // 4  # nothing to give back
        cp.begin_run("r2", "A", ["j"], dry_run=False)
        cp.store_plan("j", actions("j", 3), gen="g2")
        assert cp.size_info().free_bytes > big.file_bytes // 2
        cp.end_run("r2", "ok", {})
        small = cp.size_info()
        assert small.file_bytes < 1 << 20 and small.free_bytes == 0
        assert cp.pending_count("j") == 3 and cp.integrity_ok()


def test_the_rewrite_works_while_a_reader_holds_an_old_snapshot(tmp_path: Path) -> None:
    """``status`` may be reading while a run ends: the rewrite still happens, the reader keeps
    its snapshot, and nothing fails (the WAL is just cut back later)."""
    p = tmp_path / "s.kjstate"
    with Checkpoint(p) as cp:
        cp.begin_run("r1", "A", ["j"], dry_run=False)
        cp.store_plan("j", actions("j", 40_000), gen="g1")
        cp.end_run("r1", "ok", {})
        reader = sqlite3.connect(p, isolation_level=None)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM actions").fetchone() == (40_000,)
        cp.begin_run("r2", "A", ["j"], dry_run=False)
        cp.store_plan("j", actions("j", 3), gen="g2")
        cp.end_run("r2", "ok", {})
        assert reader.execute("SELECT count(*) FROM actions").fetchone() == (40_000,)  # its snapshot
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM actions").fetchone() == (3,)
        reader.close()
        assert cp.size_info().free_bytes == 0 and cp.integrity_ok()
