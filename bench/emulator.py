"""Start the kodo-jobs emulator as a separate process for one measured side.

The emulator runs in its own process (``python -m kodo_jobs emulator --port 0``) so that the
client's CPU and RSS are measured without it; its own CPU time is read with psutil before and
after the measured run and reported as the "emulator" half of the CPU split.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil  # type: ignore[import-untyped]

ACCESS_KEY = "bench-ak"
SECRET_KEY = "bench-sk"  # a throwaway key for a loopback emulator, never a real secret
BUCKET = "bench"


class EmulatorUnavailable(RuntimeError):
    """The emulator could not be started (not landed yet, or broken)."""


@dataclass
class EmulatorProcess:
    """A running emulator subprocess with a data folder of its own."""

    data_dir: Path
    log_path: Path
    latency: str | None = None
    """``--latency`` of the emulator (e.g. ``30ms``): a delay before every answer."""
    url: str = ""
    fault_rate: float = 0.0
    """Share of requests the emulator fails on purpose (``--fault-rate``; 0 = none)."""
    fault_seed: int = 0
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _ps: psutil.Process | None = field(default=None, repr=False)

    def start(self, timeout_s: float = 60.0) -> EmulatorProcess:
        """Launch and wait for the ``listening on http://HOST:PORT`` line."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "kodo_jobs", "emulator", "--host", "127.0.0.1", "--port", "0",
                "--data", str(self.data_dir), "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
                "--bucket", BUCKET]
        if self.latency:
            argv += ["--latency", self.latency]
        if self.fault_rate:
            argv += ["--fault-rate", str(self.fault_rate), "--fault-seed", str(self.fault_seed)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        err = self.log_path.open("wb")
        self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                      start_new_session=True)
        err.close()
        assert self._proc.stdout is not None
        found: list[str] = []

        def _read() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            for raw in self._proc.stdout:
                line = raw.decode(errors="replace").strip()
                if line.startswith("listening on "):
                    found.append(line.removeprefix("listening on ").strip())
                    break
            # keep draining so the emulator never blocks on a full stdout pipe
            for _ in self._proc.stdout:
                pass

        threading.Thread(target=_read, daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while not found:
            if self._proc.poll() is not None:
                raise EmulatorUnavailable(f"emulator exited with {self._proc.returncode}: {self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmulatorUnavailable(f"emulator did not print 'listening on' in {timeout_s:.0f}s")
            time.sleep(0.02)
        self.url = found[0].rstrip("/")
        self._ps = psutil.Process(self._proc.pid)
        return self

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-5:])
        except OSError:
            return ""

    def cpu_seconds(self) -> float:
        """User + system CPU time the emulator has used so far."""
        if self._ps is None:
            return 0.0
        times = self._ps.cpu_times()
        return float(times.user + times.system + times.children_user + times.children_system)

    def stats(self) -> dict[str, Any]:
        """The emulator's ``/_emulator/stats`` document."""
        with urllib.request.urlopen(f"{self.url}/_emulator/stats", timeout=30) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def set_faults(self, rate: float, seed: int = 0) -> None:
        """Change the injected fault rate (``POST /_emulator/faults``); 0 turns faults off."""
        body = json.dumps({"rate": rate, "seed": seed}).encode()
        req = urllib.request.Request(f"{self.url}/_emulator/faults", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def fresh_data_dir(base: Path, name: str, template: Path | None = None) -> Path:
    """An empty data folder, or a copy of a seeded template (emulator stopped while copying)."""
    target = base / name
    if target.exists():
        shutil.rmtree(target)
    if template is None:
        target.mkdir(parents=True)
    else:
        subprocess.run(["cp", "-a", str(template), str(target)], check=True)
    return target
