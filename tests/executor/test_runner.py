"""Runner behaviour with a fake kind: retries by class, phases, fatal stop, resume, batching."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import structlog

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.errors import RunAborted
from kodo_jobs.executor.checkpoint import Checkpoint
from kodo_jobs.executor.events import EventBus
from kodo_jobs.executor.retry import RetryPolicy
from kodo_jobs.executor.runner import JobRun, Runner
from kodo_jobs.kodo.errors import (
    Forbidden,
    ServerError,
    Throttled,
    Unauthorized,
    UploadRestartRequired,
)

from .fakes import FakeKind, actions

FAST = RetryPolicy(attempts=4, initial_wait=0.001, max_wait=0.002, throttle_wait=0.002)


def _setup(tmp_path: Path, acts: list[Action], *,
           cp: Checkpoint | None = None) -> tuple[Checkpoint, Runner, threading.Event]:
    cp = cp or Checkpoint(tmp_path / "s.kjstate")
    cp.store_plan("j", acts, gen="g1")
    stop = threading.Event()
    runner = Runner(cp, run_id="r1", events=EventBus(), stop=stop, log=structlog.get_logger())
    return cp, runner, stop


def test_all_done_and_counts(tmp_path: Path) -> None:
    acts = actions("j", 50) + [Action("j", "same", "s1"), Action("j", "skip", "s2")]
    cp, runner, _ = _setup(tmp_path, acts)
    kind = FakeKind()
    runner.execute(JobRun("j", kind.run, concurrency=3, policy=FAST))
    c = cp.counts("j")["j"]
    assert c["upload"]["done"] == 50 and c["upload"]["sent"] == 500
    assert c["same"] == {"bytes": 0, "sent": 0, "skipped": 1}
    assert sorted(k for call in kind.calls for k in call) == [f"k{i:05d}" for i in range(50)]


def test_retryable_then_success_and_logged(tmp_path: Path) -> None:
    cp, runner, _ = _setup(tmp_path, actions("j", 5))

    def script(a: Action, n: int) -> Outcome | BaseException | None:
        if a.key == "k00002" and n < 3:
            return ServerError("boom", status=503, reqid="RQ1")
        return None

    kind = FakeKind(script)
    with structlog.testing.capture_logs() as logs:
        runner.execute(JobRun("j", kind.run, policy=FAST))
    assert cp.counts("j")["j"]["upload"]["done"] == 5
    retries = [e for e in logs if e["event"] == "retrying"]
    assert [(e["key"], e["attempt"], e["reqid"]) for e in retries] == [("k00002", 1, "RQ1"), ("k00002", 2, "RQ1")]
    assert all("wait" in e for e in retries)


def test_retry_exhausted_fails_with_code_and_reqid(tmp_path: Path) -> None:
    cp, runner, _ = _setup(tmp_path, actions("j", 2))
    kind = FakeKind(lambda a, n: Throttled("slow down", status=573, reqid="RQ9") if a.key == "k00001" else None)
    runner.execute(JobRun("j", kind.run, policy=FAST))
    [f], total = cp.failures("j")
    assert total == 1 and (f.key, f.code, f.reqid) == ("k00001", 573, "RQ9")
    assert kind.attempts["k00001"] == FAST.attempts


def test_permanent_not_retried(tmp_path: Path) -> None:
    cp, runner, _ = _setup(tmp_path, actions("j", 3))
    kind = FakeKind(lambda a, n: Forbidden("no", status=403) if a.key == "k00000" else None)
    runner.execute(JobRun("j", kind.run, policy=FAST))
    assert kind.attempts["k00000"] == 1
    assert cp.failed_count("j") == 1


def test_phase1_only_after_clean_phase0(tmp_path: Path) -> None:
    acts = actions("j", 3) + actions("j", 2, op="delete", phase=1)
    cp, runner, _ = _setup(tmp_path, acts)
    kind = FakeKind(lambda a, n: Forbidden("no", status=403) if a.op == "upload" and a.key == "k00001" else None)
    runner.execute(JobRun("j", kind.run, policy=FAST))
    c = cp.counts("j")["j"]
    assert c["delete"].get("skipped") == 2 and "done" not in c["delete"]


def test_phase1_runs_after_phase0(tmp_path: Path) -> None:
    acts = actions("j", 3, op="delete", phase=1) + actions("j", 3)
    cp, runner, _ = _setup(tmp_path, acts)
    order: list[str] = []
    kind = FakeKind(on_call=lambda acts: order.extend(a.op for a in acts))
    runner.execute(JobRun("j", kind.run, concurrency=2, policy=FAST))
    assert order == ["upload"] * 3 + ["delete"] * 3


def test_run_fatal_stops_early(tmp_path: Path) -> None:
    cp, runner, _ = _setup(tmp_path, actions("j", 200))
    kind = FakeKind(lambda a, n: Unauthorized("bad token", status=401, reqid="R"))
    with pytest.raises(RunAborted, match="bad token"):
        runner.execute(JobRun("j", kind.run, concurrency=2, policy=FAST))
    assert len(kind.calls) <= 4  # window of 2*concurrency at most
    assert cp.pending_count("j") >= 196


def test_upload_restart_drops_session_once(tmp_path: Path) -> None:
    cp, runner, _ = _setup(tmp_path, actions("j", 1))
    a = actions("j", 1)[0]
    cp.save_upload(a.id, '{"upload_id": "x"}')
    kind = FakeKind(lambda a, n: UploadRestartRequired("expired", status=612) if n == 1 else None)
    runner.execute(JobRun("j", kind.run, policy=FAST))
    assert cp.load_upload(a.id) is None
    assert cp.counts("j")["j"]["upload"]["done"] == 1
    kind2 = FakeKind(lambda a, n: UploadRestartRequired("expired", status=612))
    cp2, runner2, _ = _setup(tmp_path / "b", actions("j", 1))
    runner2.execute(JobRun("j", kind2.run, policy=FAST))
    assert kind2.attempts["k00000"] == 2 and cp2.failed_count("j") == 1


def test_pending_outcome_retried(tmp_path: Path) -> None:
    cp, runner, _ = _setup(tmp_path, actions("j", 2))
    kind = FakeKind(lambda a, n: Outcome(a.id, "pending") if n < 2 else None)
    runner.execute(JobRun("j", kind.run, policy=FAST))
    assert cp.counts("j")["j"]["upload"]["done"] == 2


def test_batches(tmp_path: Path) -> None:
    cp, runner, _ = _setup(tmp_path, actions("j", 2500))
    kind = FakeKind(batch_size=1000)
    runner.execute(JobRun("j", kind.run, batch_size=1000, concurrency=2, policy=FAST))
    assert sorted(len(c) for c in kind.calls) == [500, 1000, 1000]  # pages hold whole batches
    assert cp.counts("j")["j"]["upload"]["done"] == 2500


def test_stop_leaves_rest_pending_then_resume(tmp_path: Path) -> None:
    acts = actions("j", 100)
    cp, runner, stop = _setup(tmp_path, acts)

    def script(a: Action, n: int) -> None:
        if a.key == "k00010":
            stop.set()

    kind = FakeKind(script)
    runner.execute(JobRun("j", kind.run, concurrency=1, policy=FAST))
    done = cp.counts("j")["j"]["upload"].get("done", 0)
    assert 10 < done < 100 and cp.pending_count("j") == 100 - done
    # rerun of the same plan (resume): only the pending ones run
    cp.store_plan("j", acts, gen="g2", keep_done_of=["r1"])
    stop2 = threading.Event()
    kind2 = FakeKind()
    Runner(cp, run_id="r2", events=EventBus(), stop=stop2, log=structlog.get_logger()).execute(
        JobRun("j", kind2.run, policy=FAST))
    assert len(kind2.calls) == 100 - done
    assert cp.counts("j")["j"]["upload"]["done"] == 100


def test_fresh_plan_forgets_done(tmp_path: Path) -> None:
    acts = actions("j", 5)
    cp, runner, _ = _setup(tmp_path, acts)
    runner.execute(JobRun("j", FakeKind().run, policy=FAST))
    cp.store_plan("j", acts, gen="g2")
    assert cp.pending_count("j") == 5


def test_crash_in_kind_fails_action_not_run(tmp_path: Path) -> None:
    cp, runner, _ = _setup(tmp_path, actions("j", 3))
    kind = FakeKind(lambda a, n: OSError("vanished") if a.key == "k00001" else None)
    runner.execute(JobRun("j", kind.run, policy=FAST))
    [f], _ = cp.failures("j")
    assert "vanished" in f.message and cp.counts("j")["j"]["upload"]["done"] == 2


def test_a_state_file_error_inside_an_action_stops_the_run_naming_the_file(tmp_path: Path) -> None:
    import sqlite3

    from kodo_jobs.errors import StateFileError
    from kodo_jobs.executor.checkpoint import state_file_errors

    cp, runner, _ = _setup(tmp_path, actions("j", 5))
    kind = FakeKind(script=lambda a, n: sqlite3.DatabaseError("database disk image is malformed"))
    with pytest.raises(StateFileError, match="s.kjstate is damaged") as info, state_file_errors(cp.path):
        runner.execute(JobRun("j", kind.run, policy=FAST))
    assert info.value.exit_code == 2
    assert cp.failed_count("j") == 0  # not recorded as failed actions: the run itself stops
    cp.close()
