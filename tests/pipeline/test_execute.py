"""``pipeline.execute``: one run of a loaded setup, returning a typed result, and the seam a
long-lived caller uses (a lock it already holds, only some keys). Against a real emulator on a
loopback port; objects listed with the official SDK."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.errors import LockHeld
from kodo_jobs.executor.lock import RunLock
from kodo_jobs.log import get_logger
from kodo_jobs.pipeline.execute import execute_run
from kodo_jobs.pipeline.load import load_run
from tests.e2e.sync_helpers import bucket_objects, make_tree, serve, sync_job, write_manifest


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[RunningEmulator]:
    with serve(tmp_path / "emulator-data") as running:
        yield running


def _manifest(tmp_path: Path, emu: RunningEmulator) -> Path:
    make_tree(tmp_path / "src", {"a.txt": "a", "b.txt": "b", "c/d.txt": "d"})
    return write_manifest(tmp_path, emu.url, sync_job(prefix="p/"),
                          {"name": "after", "kind": "sync", "source": "./src", "bucket": "test-bucket",
                           "prefix": "q/", "needs": ["site"]})


def test_execute_run_returns_the_report_of_every_job(tmp_path: Path, emu: RunningEmulator) -> None:
    setup = load_run(_manifest(tmp_path, emu))
    result = execute_run(setup, run_id="r1", log=get_logger(), stop=threading.Event(), handle_signals=False)
    assert result.error is None
    assert (result.report.status, result.report.exit_code) == ("ok", 0)
    assert [(j.name, j.status, j.changed) for j in result.report.jobs] == [("site", "ok", 3), ("after", "ok", 3)]
    assert sorted(bucket_objects(emu.url)) == ["p/a.txt", "p/b.txt", "p/c/d.txt", "q/a.txt", "q/b.txt", "q/c/d.txt"]


def test_a_caller_that_holds_the_lock_runs_a_batch_of_some_keys(tmp_path: Path, emu: RunningEmulator) -> None:
    setup = load_run(_manifest(tmp_path, emu), jobs=["site"])
    setup = replace(setup, source=replace(setup.source, only_keys=frozenset({"p/b.txt"})))
    with RunLock(setup.state_path) as held:
        result = execute_run(setup, run_id="r1", log=get_logger(), stop=threading.Event(), lock=held,
                             handle_signals=False)
        with pytest.raises(LockHeld):  # still the caller's: not released by the run
            RunLock(setup.state_path).acquire()
    assert result.report.status == "ok"
    assert [(j.name, j.changed) for j in result.report.jobs] == [("site", 1)]
    assert sorted(bucket_objects(emu.url)) == ["p/b.txt"]


def test_a_stopped_run_is_interrupted_and_starts_no_job(tmp_path: Path, emu: RunningEmulator) -> None:
    stop = threading.Event()
    stop.set()
    result = execute_run(load_run(_manifest(tmp_path, emu)), run_id="r1", log=get_logger(), stop=stop,
                         handle_signals=False)
    assert (result.report.status, result.report.exit_code) == ("interrupted", 130)
    assert [(j.name, j.status, j.note) for j in result.report.jobs] == [
        ("site", "skipped", "not started: the run was stopped"),
        ("after", "skipped", "skipped: needs site did not succeed")]
    assert bucket_objects(emu.url) == {}
