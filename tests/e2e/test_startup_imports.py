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


ALL_MODULES = """
import json, runpy, sys
sys.argv = ["kodo-jobs", *sys.argv[1:]]
try:
    runpy.run_module("kodo_jobs", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""

NOT_FOR_A_SYNC_RUN = (
    "kodo_jobs.emulator", "werkzeug", "cheroot",  # the endpoint is another process
    "kodo_jobs.jobs.batch", "kodo_jobs.jobs.pfop", "kodo_jobs.jobs.fetch", "kodo_jobs.jobs.cdn",
    "kodo_jobs.jobs.plan_trust", "kodo_jobs.jobs.sync.trust",  # other kinds; saved-plan checks
    "multiprocessing",  # nothing to hash: no hashing pool
)


def _all_modules(*args: str) -> tuple[object, set[str]]:
    done = subprocess.run([sys.executable, "-c", ALL_MODULES, *args], capture_output=True, text=True, timeout=120)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["code"], set(result["modules"])


def _under(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted({n for n in names for m in modules if m == n or m.startswith(n + ".")})


def test_a_sync_run_loads_only_what_it_uses(tmp_path: Path) -> None:
    """Issue 16: a no-op sync against a running emulator loads neither the emulator, nor the other
    job kinds, nor the saved-plan checks, nor a process pool (start-up is most of such a run)."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        (src / f"f{i}.txt").write_text(f"file {i}\n")
    with serve(tmp_path / "emu") as emu:
        manifest = write_manifest(tmp_path, emu.url, sync_job(str(src)))
        state = str(tmp_path / "state.kjstate")
        first_code, first = _all_modules("run", str(manifest), "--state", state)
        again_code, again = _all_modules("run", str(manifest), "--state", state)
    assert first_code == 0 and again_code == 0
    assert {"kodo_jobs.jobs.sync.kind", "requests"} <= again  # the probe sees what a run loads
    assert _under(first, NOT_FOR_A_SYNC_RUN) == []
    assert _under(again, NOT_FOR_A_SYNC_RUN) == []


def test_the_embedded_quick_start_loads_no_media_sniffing(tmp_path: Path) -> None:
    """The embedded emulator's content sniffing (``filetype``) is for media processing only: a
    quick-start run (uploads, listings) never imports it."""
    import shutil

    root = Path(__file__).resolve().parents[2] / "manifests"
    shutil.copy(root / "quickstart.yaml", tmp_path / "quickstart.yaml")
    shutil.copytree(root / "quickstart-site", tmp_path / "quickstart-site")
    done = subprocess.run([sys.executable, "-c", ALL_MODULES, "run", str(tmp_path / "quickstart.yaml")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stderr
    assert "werkzeug" in result["modules"]  # the embedded emulator did run in the process
    assert _under(set(result["modules"]), ("filetype",)) == []
