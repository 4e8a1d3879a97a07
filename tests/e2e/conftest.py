"""End-to-end helpers: the CLI and the emulator as real subprocesses on loopback.

* ``emulator_proc(**opts)``: starts ``kodo-jobs emulator --port 0`` (fresh data folder, AK
  ``e2e-ak``, SK ``e2e-sk``, bucket ``e2e-bucket``), reads its ``listening on`` line, and gives
  ``.url``, ``.stats()``, ``.set_faults(rate, seed)``, ``.objects(bucket)`` (key -> hash);
  every emulator started is stopped after the test.
* ``write_manifest(folder, jobs_yaml, url, ...)``: a manifest with
  ``target: {endpoint: URL, access_key, secret_key}``.
* ``kodo_jobs(*args, cwd=...)`` runs the CLI to completion; ``spawn_kodo_jobs`` starts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.kodo.client import KodoClient

AK = "e2e-ak"
SK = "e2e-sk-" + "S3cr3t" * 4  # long enough to be recognisable if it ever leaks
BUCKET = "e2e-bucket"
CLI = [sys.executable, "-m", "kodo_jobs"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KODO_JOBS_LOG_LEVEL", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class EmulatorProc:
    """A ``kodo-jobs emulator`` subprocess."""

    proc: subprocess.Popen[str]
    url: str
    data: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
            out: dict[str, Any] = json.loads(resp.read() or b"{}")
            return out

    def stats(self) -> dict[str, Any]:
        """``GET /_emulator/stats``."""
        return self._call("GET", "/_emulator/stats")

    def set_faults(self, rate: float, seed: int = 0) -> None:
        """``POST /_emulator/faults``."""
        self._call("POST", "/_emulator/faults", {"rate": rate, "seed": seed})

    def objects(self, bucket: str = BUCKET) -> dict[str, str]:
        """key -> hash of every object (listed with faults switched off by the caller)."""
        with KodoClient.for_endpoint(self.url, AK, SK) as client:
            return {e.key: e.hash for e in client.rsf.list(bucket)}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def emulator_proc(tmp_path: Path) -> Iterator[Callable[..., EmulatorProc]]:
    started: list[EmulatorProc] = []

    def start(*, fault_rate: float = 0.0, fault_seed: int = 0, buckets: tuple[str, ...] = (BUCKET,)) -> EmulatorProc:
        data = tmp_path / f"emulator-{len(started)}"
        args = [*CLI, "emulator", "--port", "0", "--data", str(data), "--access-key", AK, "--secret-key", SK,
                "--fault-rate", str(fault_rate), "--fault-seed", str(fault_seed)]
        for b in buckets:
            args += ["--bucket", b]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env())
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on "), f"emulator said {line!r}"
        emu = EmulatorProc(proc, line.removeprefix("listening on ").strip(), data)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


def write_manifest(folder: Path, jobs_yaml: str, url: str, *, access_key: str = AK, secret_key: str = SK,
                   defaults_yaml: str = "", name: str = "jobs.yaml") -> Path:
    """Write a manifest targeting ``url``; ``jobs_yaml`` is the YAML list under ``jobs:``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (f"version: 1\ntarget:\n  endpoint: {url}\n  access_key: {access_key}\n  secret_key: {secret_key}\n"
            + (f"defaults:\n{textwrap.indent(textwrap.dedent(defaults_yaml).strip(), '  ')}\n" if defaults_yaml else "")
            + "jobs:\n" + textwrap.indent(textwrap.dedent(jobs_yaml).strip(), "  ") + "\n")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def kodo_jobs(*args: str | Path, cwd: Path | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion; returns the completed process (stdout, stderr, returncode)."""
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=_env(), check=False)


def spawn_kodo_jobs(*args: str | Path, cwd: Path | None = None) -> subprocess.Popen[str]:
    """Start the CLI without waiting (for kill -9 and lock tests)."""
    return subprocess.Popen([*CLI, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env())


def make_tree(root: Path, count: int, *, size: int = 64, seed: int = 0) -> dict[str, Path]:
    """``count`` small files with distinct contents under ``root`` (a few subfolders)."""
    import random

    rng = random.Random(seed)
    files: dict[str, Path] = {}
    for i in range(count):
        rel = f"d{i % 7}/f{i:05d}.bin"
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rng.randbytes(size) + i.to_bytes(4, "big"))
        files[rel] = p
    return files


def make_big_file(path: Path, size: int, seed: int = 1) -> None:
    """A file of ``size`` pseudo-random bytes, written in 1 MiB pieces."""
    import random

    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(rng.randbytes(n))
            left -= n
