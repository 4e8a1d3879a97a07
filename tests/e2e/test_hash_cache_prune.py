"""A run forgets the cached etags of files that are gone (issue 20: the state file stays bounded).

The hash cache maps a file's path, size and mtime to its etag. Before this, every file ever
synced kept its row forever, so a tree that churns on a cron schedule grew the state file
without bound. A run whose walk was complete now drops the rows of files it did not see; a
filtered job drops only rows its filters cover (another job may sync other files of the same
folder with their own cached etags).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kodo_jobs.executor.checkpoint import Checkpoint
from kodo_jobs.jobs.sync import kind as sync_kind
from tests.e2e.sync_helpers import cli, make_tree, serve, sync_job, write_manifest

OLD = (1_700_000_000, 1_700_000_000)  # old enough to be cached (a just-written file is not)


def _cached(state: Path) -> set[str]:
    with Checkpoint(state, create=False, readonly=True) as cp:
        rows = cp._db.execute("SELECT path FROM hash_cache").fetchall()
    return {Path(str(r[0])).name for r in rows}


def _age(root: Path) -> None:
    for f in root.rglob("*"):
        if f.is_file():
            os.utime(f, OLD)


def test_a_run_drops_the_cached_etags_of_deleted_files(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        make_tree(tmp_path / "src", {f"f{i}.txt": f"file {i}" for i in range(10)})
        _age(tmp_path / "src")
        m = write_manifest(tmp_path, emu.url, sync_job())
        assert cli("run", m).code == 0
        state = m.with_suffix(".kjstate")
        assert _cached(state) == {f"f{i}.txt" for i in range(10)}
        for i in range(4):
            (tmp_path / "src" / f"f{i}.txt").unlink()
        assert cli("run", m).code == 0
        assert _cached(state) == {f"f{i}.txt" for i in range(4, 10)}


def test_a_filtered_job_keeps_the_rows_another_job_of_the_same_folder_uses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(tmp_path / "emu") as emu:
        make_tree(tmp_path / "src", {**{f"a/f{i}.txt": f"a {i}" for i in range(5)},
                                     **{f"b/g{i}.txt": f"b {i}" for i in range(5)}})
        _age(tmp_path / "src")
        m = write_manifest(tmp_path, emu.url,
                           sync_job(name="a", prefix="a-side/", include=["/a/**"]),
                           sync_job(name="b", prefix="b-side/", include=["/b/**"]))
        assert cli("run", m).code == 0
        state = m.with_suffix(".kjstate")
        assert _cached(state) == {f"f{i}.txt" for i in range(5)} | {f"g{i}.txt" for i in range(5)}
        (tmp_path / "src" / "a" / "f0.txt").unlink()
        (tmp_path / "src" / "b" / "g0.txt").unlink()
        # a filtered job prunes at most once a day: the next run within the day keeps the rows
        assert cli("run", m).code == 0
        assert _cached(state) == {f"f{i}.txt" for i in range(5)} | {f"g{i}.txt" for i in range(5)}
        monkeypatch.setattr(sync_kind, "PRUNE_FILTERED_EVERY", 0.0)  # a day later
        assert cli("run", m).code == 0
        # each job dropped its own gone file and kept the other job's rows
        assert _cached(state) == {f"f{i}.txt" for i in range(1, 5)} | {f"g{i}.txt" for i in range(1, 5)}
