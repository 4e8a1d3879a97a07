"""A clean sync run against an http:// endpoint imports none of ``requests``, ``urllib3`` and
``structlog`` (start-up cost, issue 8).

All are imported on demand: ``requests`` for streaming downloads, probes and response hooks,
``urllib3`` for https hosts and chunked bodies, structlog for the first log line written. This runs the real CLI in a fresh interpreter twice
against the emulator (an upload run, then a no-op run) and lists the modules it ended with. A
run that has to write a log line (JSON logs) still gets structlog, which is checked too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .sync_helpers import serve, sync_job, write_manifest

PROBE = """
import json, runpy, sys
sys.argv = ["kodo-jobs", *sys.argv[1:]]
try:
    runpy.run_module("kodo_jobs", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules
                                                  if m.split(".")[0] in ("requests", "urllib3", "structlog", "rich"))}))
"""


def _run(*args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    last = done.stdout.strip().splitlines()[-1]
    result: dict[str, object] = json.loads(last)
    return result


def test_sync_runs_without_requests_urllib3_or_structlog(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        (src / f"f{i}.txt").write_text(f"file {i}\n")
    (src / "big.bin").write_bytes(b"x" * (5 * 1024 * 1024))  # a chunked upload too
    with serve(tmp_path / "emu") as emu:
        manifest = write_manifest(tmp_path, emu.url, sync_job(str(src)))
        state = str(tmp_path / "state.kjstate")
        first = _run("run", str(manifest), "--state", state)
        assert first == {"code": 0, "modules": []}
        again = _run("run", str(manifest), "--state", state)
        assert again == {"code": 0, "modules": []}
        logged = _run("run", str(manifest), "--state", state, "--log-format", "json")
        assert logged["code"] == 0
        assert isinstance(logged["modules"], list) and "structlog" in logged["modules"]
