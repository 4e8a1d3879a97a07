"""Run lock: a second holder is refused naming the first; a killed holder's lock is taken over."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kodo_jobs.errors import LockHeld
from kodo_jobs.executor.lock import RunLock


def _holder(state: Path) -> subprocess.Popen[str]:
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from kodo_jobs.executor.lock import RunLock
        lock = RunLock(Path({str(state)!r}))
        lock.acquire()
        print("locked", flush=True)
        time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "locked"
    return p


def test_second_run_refused_with_holder(tmp_path: Path) -> None:
    state = tmp_path / "m.kjstate"
    p = _holder(state)
    try:
        with pytest.raises(LockHeld) as info:
            RunLock(state).acquire()
        msg = str(info.value)
        assert f"pid {p.pid}" in msg and socket.gethostname() in msg and "started" in msg
        assert info.value.exit_code == 3
    finally:
        p.kill()
        p.wait()


def test_killed_holder_is_taken_over(tmp_path: Path) -> None:
    state = tmp_path / "m.kjstate"
    p = _holder(state)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    lock = RunLock(state)
    lock.acquire()
    try:
        assert lock.taken_over is not None and lock.taken_over["pid"] == p.pid
    finally:
        lock.release()


def test_release_and_reacquire_in_process(tmp_path: Path) -> None:
    state = tmp_path / "m.kjstate"
    with RunLock(state) as first:
        assert first.taken_over is None
        with pytest.raises(LockHeld):
            RunLock(state).acquire()
    with RunLock(state):
        pass


def test_lock_holder_probe(tmp_path: Path) -> None:
    from kodo_jobs.executor.lock import lock_holder

    state = tmp_path / "m.kjstate"
    assert lock_holder(state) == (None, False)
    p = _holder(state)
    try:
        holder, running = lock_holder(state)
        assert running and holder is not None and holder["pid"] == p.pid
    finally:
        p.kill()
        p.wait()
    holder, running = lock_holder(state)
    assert not running and holder is not None and holder["pid"] == p.pid  # a killed run's trace
