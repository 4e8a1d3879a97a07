"""Run windows and pacing: token buckets (fake clock, so counts not timings), adaptive
concurrency on 573, and a job ``max_duration`` that stops a sync cleanly and later runs finish.

The bandwidth limit's real-time accuracy on a 32 MiB transfer is measured by
``bench/bandwidth.py`` (tests here never assert wall-clock timings)."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.executor.events import EventBus
from kodo_jobs.executor.pacing import AdaptiveLimit, TokenBucket
from kodo_jobs.kodo.errors import Throttled
from kodo_jobs.pipeline.limits import GROW_AFTER, JobLimits
from tests.e2e.sync_helpers import assert_mirrored, cli, make_tree, serve, sync_job, write_manifest

MIB = 1024 * 1024


class FakeClock:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s
        self.slept += s


def test_byte_bucket_averages_the_limit_over_a_32_mib_transfer() -> None:
    clock = FakeClock()
    bucket = TokenBucket(8 * MIB, start_full=False, clock=clock.time, sleep=clock.sleep)
    for _ in range(32 * MIB // (256 * 1024)):
        bucket.acquire(256 * 1024)
        clock.now += 0.001  # the transfer itself takes a little time
    assert clock.now == pytest.approx(4.0, rel=0.01)  # 32 MiB at 8 MiB/s


def test_one_huge_chunk_goes_into_debt_for_the_next_caller() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1 * MIB, start_full=False, clock=clock.time, sleep=clock.sleep)
    bucket.acquire(4 * MIB)
    assert clock.slept == pytest.approx(4.0)


def test_ops_bucket_allows_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock.time, sleep=clock.sleep)
    for _ in range(100):
        bucket.acquire()
    assert clock.now == pytest.approx(9.0)  # 10 free (one second's burst), 90 at 10/s


def test_adaptive_limit_halves_on_573_and_grows_back_by_one() -> None:
    lim = AdaptiveLimit(8, grow_after=5)
    for expected in (4, 2, 1, 1):
        lim.throttled()
        assert lim.limit == expected
    for _ in range(5 * 3):
        lim.succeeded()
    assert lim.limit == 4
    for _ in range(100):
        lim.succeeded()
    assert lim.limit == 8  # never above the configured concurrency


def test_adaptive_limit_gates_concurrent_calls() -> None:
    lim = AdaptiveLimit(4)
    lim.throttled()  # 2
    inside, peak, lock = 0, 0, threading.Lock()
    gate = threading.Barrier(6, timeout=5)

    def work() -> None:
        nonlocal inside, peak
        gate.wait()
        with lim:
            with lock:
                inside += 1
                peak = max(peak, inside)
            threading.Event().wait(0.02)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak <= 2


class _Spec:
    name = "j"
    max_duration = None
    max_bytes = 1000
    ops_per_second = None
    bandwidth = None


def test_job_limits_trip_max_bytes_and_release_only_their_own_stop() -> None:
    stop, bus = threading.Event(), EventBus()
    limits = JobLimits(_Spec(), stop, bus, concurrency=4)
    with limits:
        bus.progress(600)
        assert not stop.is_set()
        bus.progress(600)
        assert stop.is_set()
    assert "max_bytes" in limits.note and "run again" in limits.note
    assert limits.release() and not stop.is_set()
    assert bus.subscribers == []
    other = JobLimits(_Spec(), stop, bus, concurrency=4)
    stop.set()  # a signal, not the window
    assert not other.release() and stop.is_set()


def test_job_limits_wrap_shrinks_on_throttled_calls() -> None:
    limits = JobLimits(_Spec(), threading.Event(), EventBus(), concurrency=8)
    calls = {"n": 0}

    def run(actions: Sequence[Action]) -> list[Outcome]:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise Throttled("slow down", status=573)
        if calls["n"] == 3:
            return [Outcome(a.id, "failed", code=573) for a in actions]
        return [Outcome(a.id, "done") for a in actions]

    paced = limits.wrap(run)
    batch = [Action("j", "upload", "k")]
    for _ in range(2):
        with pytest.raises(Throttled):
            paced(batch)
    paced(batch)
    assert limits.adaptive.limit == 1
    for _ in range(GROW_AFTER):
        paced(batch)
    assert limits.adaptive.limit == 2


def test_max_duration_stops_the_job_cleanly_and_later_runs_finish(tmp_path: Path) -> None:
    rng = random.Random(2)
    files = {f"f{i:03d}.bin": rng.randbytes(2048) for i in range(100)}
    make_tree(tmp_path / "src", files)
    with serve(tmp_path / "emu") as emu:
        # 200 KiB at 64 KiB/s needs > 3 s; the window is 2 s: several runs, each one continues
        m = write_manifest(tmp_path, emu.url, sync_job(max_duration="2s", bandwidth="64KiB", concurrency=2))
        report = tmp_path / "r.json"
        first = cli("run", m, "--report", report)
        assert first.code == 130, first.out + first.err
        job = json.loads(report.read_text())["jobs"][0]
        assert "stopped by max_duration" in job.get("note", ""), job
        done_first = job["counts"]["upload"]["done"]
        assert 0 < done_first < 100
        codes = [first.code]
        while codes[-1] == 130 and len(codes) < 8:
            codes.append(cli("run", m).code)
        assert codes[-1] == 0, codes
        assert emu.stats()["requests"]["up.form_upload"] == 100  # nothing sent twice
        assert_mirrored(emu.url, tmp_path / "src")


def test_a_job_window_stops_only_that_job_and_its_dependents(tmp_path: Path) -> None:
    rng = random.Random(3)
    make_tree(tmp_path / "slow", {f"s{i:03d}.bin": rng.randbytes(2048) for i in range(100)})
    make_tree(tmp_path / "fast", {"f.txt": "fast"})
    with serve(tmp_path / "emu") as emu:
        m = write_manifest(
            tmp_path, emu.url,
            sync_job("./slow", name="slow", prefix="slow/", max_duration="1s", bandwidth="32KiB"),
            sync_job("./fast", name="after-slow", prefix="after/", needs=["slow"]),
            sync_job("./fast", name="independent", prefix="ind/"))
        report = tmp_path / "r.json"
        res = cli("run", m, "--report", report)
        assert res.code == 130, res.out + res.err
        jobs = {j["name"]: j for j in json.loads(report.read_text())["jobs"]}
        assert jobs["slow"]["status"] == "interrupted" and "max_duration" in jobs["slow"]["note"]
        assert jobs["after-slow"]["status"] == "skipped"
        assert jobs["independent"]["status"] == "ok"  # the window stopped only its own job
