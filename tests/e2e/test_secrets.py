"""Secrets never reach logs, plans, reports, status output or state files.

Runs a sync under faults with JSON logs at debug level (so retries, request URLs and errors are
all logged), a run with a wrong key (error path), ``plan --json``, ``status``, and then scans
every byte written (stdout, stderr, report, state file with its WAL, lock file) for the
secret key, for upload tokens and for request signatures.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from .conftest import CLI, SK, EmulatorProc, kodo_jobs, make_tree, write_manifest
from .test_resilience import FAST_RETRY, _sync_job

# AK:sign and AK:sign:policy (urlsafe base64 signature of an HMAC-SHA1 = 27/28 chars)
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_\-]{4,}:[A-Za-z0-9_\-]{27}=?(?::[A-Za-z0-9_\-=]{8,})?")


def _debug_run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KODO_JOBS_LOG_LEVEL="debug")
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=240, env=env,
                          check=False)


def _scan(texts: dict[str, str | bytes], secret: str) -> list[str]:
    leaks = []
    for name, text in texts.items():
        raw = text.encode() if isinstance(text, str) else text
        if secret.encode() in raw:
            leaks.append(f"{name}: secret key")
        decoded = raw.decode("utf-8", "replace")
        for m in TOKEN_SHAPE.finditer(decoded):
            leaks.append(f"{name}: token-shaped {m.group(0)[:12]}...")
    return leaks


def test_no_secret_anywhere(tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc(fault_rate=0.3, fault_seed=3)
    src = tmp_path / "src"
    make_tree(src, 60, size=50)
    (src / "big.bin").write_bytes(os.urandom(9 * (1 << 20)))  # chunked: upload ids and part tokens
    manifest = write_manifest(tmp_path / "m", _sync_job(src, concurrency=4), emu.url, defaults_yaml=FAST_RETRY)
    outputs: dict[str, str | bytes] = {}
    plan = _debug_run("plan", manifest, "--json", "--log-format", "json")
    assert plan.returncode == 0, plan.stderr[-2000:]
    outputs.update({"plan.out": plan.stdout, "plan.err": plan.stderr})
    run = _debug_run("run", manifest, "--log-format", "json", "--report", tmp_path / "report.json")
    assert run.returncode == 0, run.stderr[-2000:]
    assert '"retrying"' in run.stderr  # the faults produced logged retries to scan
    outputs.update({"run.out": run.stdout, "run.err": run.stderr})
    status = kodo_jobs("status", manifest, "--json")
    outputs["status"] = status.stdout + status.stderr

    bad = write_manifest(tmp_path / "bad", _sync_job(src), emu.url, secret_key=SK + "-but-wrong")
    wrong = _debug_run("run", bad, "--log-format", "json", "--report", tmp_path / "bad-report.json")
    assert wrong.returncode == 1
    outputs.update({"wrong.out": wrong.stdout, "wrong.err": wrong.stderr})

    for path in [tmp_path / "report.json", tmp_path / "bad-report.json", *tmp_path.glob("*/*.kjstate*")]:
        outputs[path.name] = path.read_bytes()
    assert any(name.endswith(".kjstate") for name in outputs)
    assert _scan(outputs, SK) == []
    assert SK + "-but-wrong" not in "".join(v if isinstance(v, str) else v.decode("utf-8", "replace")
                                           for v in outputs.values())


def test_manifest_secret_from_env_not_echoed(tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    make_tree(src, 2)
    manifest = write_manifest(tmp_path / "m", _sync_job(src), emu.url, secret_key="${KJ_TEST_SK}")
    env = dict(os.environ, KJ_TEST_SK=SK, KODO_JOBS_LOG_LEVEL="debug")
    r = subprocess.run([*CLI, "run", str(manifest), "--log-format", "json"], capture_output=True, text=True,
                       timeout=120, env=env, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert SK not in r.stdout + r.stderr
    assert sys.executable  # the CLI really ran in a child process
