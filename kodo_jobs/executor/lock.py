"""One run per state file: ``fcntl.flock`` on ``<state>.lock``.

The kernel releases a flock when its holder dies (even by ``kill -9``), so a lock left behind
by a killed run is simply taken over; the holder's pid, host and start time are written inside
the lock file so a refused run can say who holds it. The file descriptor is not inherited by
child processes (Python opens files non-inheritable), so a spawned helper cannot keep a dead
run's lock alive.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
from pathlib import Path
from types import TracebackType

from kodo_jobs.errors import LockHeld


def lock_path_for(state: Path) -> Path:
    """``run.kjstate`` -> ``run.kjstate.lock``."""
    return state.with_name(state.name + ".lock")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """Hold the lock of a state file for the duration of a ``with`` block.

    ``taken_over`` names the previous holder when the lock file still described a process that
    is gone (a crashed or killed run), so the caller can log it.
    """

    def __init__(self, state: Path) -> None:
        self.path = lock_path_for(state)
        self.taken_over: dict[str, object] | None = None
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`LockHeld` at once (never waits)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockHeld(_held_message(self.path, holder)) from None
        previous = _read_holder(fd)
        if previous and previous.get("pid") and previous.get("host") == socket.gethostname():
            pid = previous.get("pid")
            if isinstance(pid, int) and pid != os.getpid() and not _pid_alive(pid):
                self.taken_over = previous
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        """Clear the holder info and release the lock (the file stays, harmlessly)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _read_holder(fd: int) -> dict[str, object]:
    try:
        data = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        value = json.loads(data) if data else {}
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _held_message(path: Path, holder: dict[str, object]) -> str:
    if holder:
        who = (f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, "
               f"started {holder.get('started', '?')}")
    else:
        who = "another process"
    return (f"another kodo-jobs run holds the lock {path} ({who}); "
            "not starting a second run on the same state file. Wait for it to finish, or use --state "
            "for an independent run")


def lock_holder(state: Path) -> tuple[dict[str, object] | None, bool]:
    """(holder info written in the lock file, whether a live run holds the lock now).

    Never takes the lock for longer than the probe, and never blocks.
    """
    path = lock_path_for(state)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None, False
    try:
        holder = _read_holder(fd) or None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return holder, True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return holder, False
    finally:
        os.close(fd)
