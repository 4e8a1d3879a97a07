"""Start-up imports (issue 8, revised by issue 14).

Every request goes through ``requests`` (issue 14: one transport, proxies and CAs as requests
honours them), so a run that talks to Kodo loads ``requests`` and ``urllib3``: that is the
transport, not an accident. What stays lazy: the HTTP stack is imported on the first request,
so ``--help`` and ``validate`` (which send none) load neither, and structlog is imported only
when a log line is written (a clean console run writes none; JSON logs do). This runs the real
CLI in a fresh interpreter and lists the modules it ended with.
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


HTTP_STACK = ["requests", "urllib3"]


def _http_stack(modules: object) -> list[str]:
    assert isinstance(modules, list)
    return sorted({m.split(".")[0] for m in modules if m.split(".")[0] in HTTP_STACK})


def test_help_and_validate_load_no_http_stack_or_structlog(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, "http://127.0.0.1:9", sync_job(str(tmp_path)))
    assert _run("--help") == {"code": 0, "modules": []}
    assert _run("validate", str(manifest)) == {"code": 0, "modules": []}


def test_sync_runs_load_the_transport_but_not_structlog(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        (src / f"f{i}.txt").write_text(f"file {i}\n")
    (src / "big.bin").write_bytes(b"x" * (5 * 1024 * 1024))  # a chunked upload too
    with serve(tmp_path / "emu") as emu:
        manifest = write_manifest(tmp_path, emu.url, sync_job(str(src)))
        state = str(tmp_path / "state.kjstate")
        first = _run("run", str(manifest), "--state", state)
        assert first["code"] == 0 and _http_stack(first["modules"]) == HTTP_STACK
        assert not [m for m in first["modules"] if m.split(".")[0] in ("structlog", "rich")]  # type: ignore[attr-defined]
        again = _run("run", str(manifest), "--state", state)
        assert again["code"] == 0 and _http_stack(again["modules"]) == HTTP_STACK
        assert not [m for m in again["modules"] if m.split(".")[0] in ("structlog", "rich")]  # type: ignore[attr-defined]
        logged = _run("run", str(manifest), "--state", state, "--log-format", "json")
        assert logged["code"] == 0
        assert isinstance(logged["modules"], list) and "structlog" in logged["modules"]
