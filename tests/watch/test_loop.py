"""Lost events converge through a full re-plan (watcher in-process, real emulator, real folder).

Each test makes changes the watcher cannot see through events (observer thread stopped,
events dropped, folder replaced) and checks that the bucket still ends equal to the folder
(official SDK), through the re-plan each incident triggers.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kodo_jobs.log import get_logger
from kodo_jobs.pipeline.load import load_manifest, select_jobs
from kodo_jobs.pipeline.report import Report
from kodo_jobs.watch.debounce import Collector
from kodo_jobs.watch.loop import Watcher, WatchOptions
from kodo_jobs.watch.runner import BatchRunner
from kodo_jobs.watch.signals import Stopping
from tests.e2e.sync_helpers import assert_mirrored, serve, sync_job, write_manifest
from tests.e2e.watch_helpers import eventually


def _files(src: Path, tag: str, n: int) -> None:
    for i in range(n):
        p = src / f"{tag}{i % 3}" / f"{tag}-{i}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"{tag} {i}")


@contextmanager
def _watching(tmp_path: Path, src: Path) -> Iterator[tuple[Watcher, str, list[Report]]]:
    with serve(tmp_path / "emu") as emu:
        manifest = write_manifest(tmp_path, emu.url, sync_job(str(src), delete=True))
        m = load_manifest(manifest)
        specs = select_jobs(m, [])
        stopping = Stopping()
        reports: list[Report] = []
        with BatchRunner(manifest, m, specs, tmp_path / "state.kjstate", get_logger()) as runner:
            watcher = Watcher(specs, runner, WatchOptions(debounce=0.3), get_logger(), stopping,
                              on_batch=[reports.append])
            thread = threading.Thread(target=watcher.run, daemon=True)
            thread.start()
            try:
                eventually(lambda: _at_least(reports, 1))
                yield watcher, emu.url, reports
            finally:
                stopping.requested.set()
                assert stopping.wake is not None
                stopping.wake.set()
                thread.join(timeout=120)
        assert not thread.is_alive()


def _at_least(reports: list[Report], n: int) -> None:
    assert len(reports) >= n


@pytest.fixture
def src(tmp_path: Path) -> Path:
    s = tmp_path / "src"
    _files(s, "a", 12)
    return s


def test_observer_thread_stopped_while_files_change_is_restarted_and_replans(tmp_path: Path, src: Path) -> None:
    with _watching(tmp_path, src) as (watcher, url, _reports):
        assert_mirrored(url, src)
        native = watcher.observation._native
        assert native is not None
        native.stop()
        native.join(timeout=10)
        _files(src, "b", 20)
        (src / "a0" / "a-0.txt").unlink()
        eventually(lambda: assert_mirrored(url, src))
        assert watcher.observation.restarts >= 1


def test_dropped_events_then_an_overflow_converge_through_the_full_replan(tmp_path: Path, src: Path) -> None:
    with _watching(tmp_path, src) as (watcher, url, reports):
        folder = watcher.observation.folders[0]
        real = folder.handler.collector
        folder.handler.collector = Collector(debounce=0.3, max_wait=1.0)  # events go nowhere: lost
        _files(src, "c", 15)
        shutil.rmtree(src / "a1")
        done = len(reports)
        time.sleep(2)  # several debounces: without events, and with --full-every at 1h, nothing happens
        assert len(reports) == done
        with pytest.raises(AssertionError):
            assert_mirrored(url, src)
        folder.handler.collector = real
        # what watchdog logs when the kernel's inotify queue overflowed
        logging.getLogger("watchdog.observers.inotify_c").warning("Inotify queue overflowed; filesystem events were lost")
        eventually(lambda: assert_mirrored(url, src))
        assert len(reports) == done + 1  # one full re-plan did it


def test_a_folder_replaced_under_the_watcher_is_watched_again_and_replanned(tmp_path: Path, src: Path) -> None:
    with _watching(tmp_path, src) as (_watcher, url, _reports):
        new = tmp_path / "new"
        _files(new, "d", 10)
        src.rename(tmp_path / "old")
        new.rename(src)
        eventually(lambda: assert_mirrored(url, src))
        _files(src, "e", 5)  # and events of the new folder are seen
        eventually(lambda: assert_mirrored(url, src))


def test_a_batch_plans_only_the_touched_paths(tmp_path: Path, src: Path) -> None:
    with _watching(tmp_path, src) as (_watcher, url, reports):
        first = reports[0].jobs[0].counts
        assert first.get("upload", {}).get("done") == 12
        (src / "a1" / "a-1.txt").write_text("changed")
        eventually(lambda: assert_mirrored(url, src))
        eventually(lambda: _at_least(reports, 2))
        counts = reports[-1].jobs[0].counts
        # one update planned; none of the 11 untouched files was even compared ("same")
        assert counts.get("update", {}).get("done") == 1 and "same" not in counts, counts
