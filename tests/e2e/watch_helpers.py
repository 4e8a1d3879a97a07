"""``kodo-jobs watch`` as a real subprocess: its JSON log events, convergence polling.

* :func:`start_watch` spawns ``kodo-jobs watch MANIFEST --log-format json ...`` and returns a
  :class:`Watching` whose reader thread collects the JSON events of stderr;
* :func:`eventually` retries an assertion until it holds or a generous deadline passes (the
  machine is shared: no test asserts on how long anything took);
* the bucket is compared with the folder by :func:`tests.e2e.sync_helpers.assert_mirrored`
  (the official SDK lists the bucket; the SDK's qetag hashes the files).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CLI = [sys.executable, "-m", "kodo_jobs"]
TIMEOUT = 240.0


class Watching:
    """A running watcher: ``events`` (parsed JSON lines), ``lines`` (everything else on stderr)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            with self._lock:
                if isinstance(event, dict):
                    self.events.append(event)
                else:
                    self.lines.append(line)

    def batches(self) -> list[dict[str, Any]]:
        """The ``watch batch`` events so far."""
        with self._lock:
            return [e for e in self.events if e.get("event") == "watch batch"]

    def named(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e.get("event") == name]

    def wait_batches(self, count: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        eventually(lambda: _at_least(self, count), timeout)
        return self.batches()

    def stop(self, timeout: float = 120) -> int:
        """SIGTERM, then wait: the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self.kill()
        self._reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_text(self) -> str:
        with self._lock:
            return "".join(self.lines[-50:]) + "\n".join(json.dumps(e) for e in self.events[-30:])


def _at_least(w: Watching, count: int) -> None:
    if len(w.batches()) < count and w.proc.poll() is not None:
        raise RuntimeError(f"watch exited {w.proc.returncode}: {w.log_text()}")  # not retried
    assert len(w.batches()) >= count


PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _without_file_override() -> None:
    """In the child before exec: drop root's power to read any file (the two DAC capabilities
    leave the bounding set, so the exec'd watcher never has them), so mode 000 means unreadable
    to it as to any user. The interpreter may live in root's 0700 home, so the uid stays 0."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def start_watch(manifest: Path, *args: str, debounce: str = "1s", plain_permissions: bool = False) -> Watching:
    """``plain_permissions``: when the tests run as root, the watcher runs without root's
    power to read every file (so a mode-000 file is really unreadable to it)."""
    env = dict(os.environ)
    env.pop("KODO_JOBS_LOG_LEVEL", None)
    env["PYTHONUNBUFFERED"] = "1"
    drop = _without_file_override if plain_permissions and os.geteuid() == 0 else None
    proc = subprocess.Popen([*CLI, "watch", str(manifest), "--log-format", "json", "--debounce", debounce, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=drop)
    # stdout (batch reports) is drained too, so a chatty watcher never blocks on a full pipe
    threading.Thread(target=lambda: proc.stdout.read() if proc.stdout else None, daemon=True).start()
    return Watching(proc)


def eventually(check: Callable[[], None], timeout: float = TIMEOUT, interval: float = 0.5) -> None:
    """Call ``check`` until it stops raising AssertionError; re-raise its last error at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)


class EmulatorSubprocess:
    """``kodo-jobs emulator`` in its own process (the sync_helpers keys and bucket), for load tests
    where an in-process server would share the test's interpreter lock."""

    def __init__(self, data: Path) -> None:
        from tests.e2e.sync_helpers import AK, BUCKET, SK

        self.proc = subprocess.Popen([*CLI, "emulator", "--port", "0", "--data", str(data), "--access-key", AK,
                                      "--secret-key", SK, "--bucket", BUCKET],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line.startswith("listening on "), line
        self.url = line.removeprefix("listening on ")

    def stats(self) -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(self.url + "/_emulator/stats", timeout=30) as resp:  # noqa: S310 - loopback
            out: dict[str, Any] = json.loads(resp.read())
            return out

    def __enter__(self) -> EmulatorSubprocess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
