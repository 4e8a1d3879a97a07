"""Issue 15 item 3, end to end: declared variables expand, secret ones never reach an output.

A manifest declares ``UPLOAD_DAY`` (plain: it names the upload prefix, so it is meant to be seen)
and ``KJ_E2E_SK`` (``secret: true``, the target's secret key). ``plan --json``, a saved plan,
``run --report`` with JSON logs at debug level, ``status --json`` and the state file are then
scanned for the secret. The undeclared-variable case (``prefix: "up/${MY_CI_TOKEN}/"``) is
refused before anything is written: see tests/manifest/test_env.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.sync_helpers import AK, BUCKET

SECRET = "kj-e2e-secret-key-7f3a9c1d"
MANIFEST = """version: 1
env:
  - UPLOAD_DAY
  - {{name: KJ_E2E_SK, secret: true}}
target:
  endpoint: {url}
  access_key: {ak}
  secret_key: "${{KJ_E2E_SK}}"
jobs:
  - name: site
    kind: sync
    source: ./src
    bucket: {bucket}
    prefix: "up/${{UPLOAD_DAY}}/"
"""


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KJ_E2E_SK=SECRET, UPLOAD_DAY="2026-12-03", KODO_JOBS_LOG_LEVEL="debug")
    return subprocess.run([sys.executable, "-m", "kodo_jobs", *map(str, args)], capture_output=True, text=True,
                          timeout=240, env=env, check=False)


def test_declared_secret_is_masked_everywhere(tmp_path: Path) -> None:
    from kodo_jobs.emulator.config import EmulatorConfig
    from kodo_jobs.emulator.server import start_emulator

    (tmp_path / "src").mkdir()
    for name in ("a.txt", "b.txt"):
        (tmp_path / "src" / name).write_text(name, encoding="utf-8")
    config = EmulatorConfig(data_dir=tmp_path / "emulator", access_key=AK, secret_key=SECRET, buckets=(BUCKET,))
    with start_emulator(config) as emu:
        manifest = tmp_path / "m.yaml"
        manifest.write_text(MANIFEST.format(url=emu.url, ak=AK, bucket=BUCKET), encoding="utf-8")
        outputs: dict[str, str] = {}
        plan = _cli("plan", manifest, "--json", "--log-format", "json", "-o", tmp_path / "saved.json")
        assert plan.returncode == 0, plan.stderr[-2000:]
        assert sorted(a["key"] for a in json.loads(plan.stdout)["actions"]) == [
            "up/2026-12-03/a.txt", "up/2026-12-03/b.txt"]  # the plain variable expanded, visibly
        outputs.update({"plan.out": plan.stdout, "plan.err": plan.stderr})
        run = _cli("run", manifest, "--plan", tmp_path / "saved.json", "--log-format", "json",
                   "--report", tmp_path / "report.json")
        assert run.returncode == 0, run.stderr[-2000:]
        assert '"run finished"' in run.stderr  # the JSON log was written, so it was scanned
        outputs.update({"run.out": run.stdout, "run.err": run.stderr})
        status = _cli("status", manifest, "--json")
        assert status.returncode == 0, status.stderr
        outputs["status"] = status.stdout + status.stderr
        assert emu.store.exists(BUCKET, "up/2026-12-03/a.txt")
    files = [tmp_path / "saved.json", tmp_path / "report.json", *tmp_path.glob("m.kjstate*")]
    assert tmp_path / "m.kjstate" in files
    for path in files:
        outputs[path.name] = path.read_bytes().decode("utf-8", "replace")
    assert [name for name, text in outputs.items() if SECRET in text] == []
