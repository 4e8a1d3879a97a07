"""Start-up cost, guarded by structure rather than by timing (issue 16).

Each short command runs in a fresh interpreter through the real entry point
(:func:`kodo_jobs.cli.main`), which reports the modules it ended with and the state of the
garbage collector. What a command does not need stays unloaded: ``--help`` loads no pydantic or
YAML (the manifest models are most of a command's start-up), ``validate`` no HTTP stack, no
emulator and no state file code. The run paths are checked in ``tests/e2e/test_startup_imports.py``.
Timings live in docs/bench.md ("Start-up"), never in a test.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from kodo_jobs.cli import cli

PROBE = """
import gc, json, sys
from kodo_jobs.cli import main
sys.argv = ["kodo-jobs", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "gc_enabled": gc.isenabled(), "frozen": gc.get_freeze_count() > 0,
                  "modules": sorted(sys.modules)}))
"""

HEAVY_FOR_HELP = ("pydantic", "pydantic_core", "yaml", "requests", "urllib3", "werkzeug", "cheroot",
                  "structlog", "rich", "sqlite3", "tenacity", "pathspec")
"""Libraries ``--help`` has no use for."""
HEAVY_FOR_VALIDATE = ("requests", "urllib3", "werkzeug", "cheroot", "structlog", "rich", "sqlite3",
                      "tenacity", "pathspec", "multiprocessing", "concurrent", "ssl")
"""Libraries ``validate`` has no use for: it reads YAML and checks it with the models, nothing more."""
OWN_FOR_VALIDATE = ("kodo_jobs.emulator", "kodo_jobs.executor", "kodo_jobs.jobs", "kodo_jobs.pipeline.execute",
                    "kodo_jobs.pipeline.plan_job", "kodo_jobs.pipeline.targets", "kodo_jobs.pipeline.saved_plan")
"""Our own modules ``validate`` has no use for (it enters the pipeline only at ``pipeline.load``)."""


def _probe(*args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _loaded(result: dict[str, object], names: tuple[str, ...]) -> list[str]:
    modules = result["modules"]
    assert isinstance(modules, list)
    return sorted({n for n in names for m in modules if m == n or m.startswith(n + ".")})


def _manifest(tmp_path: Path) -> Path:
    (tmp_path / "site").mkdir()
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\ntarget: {embedded: true}\n"
                    "jobs:\n  - {name: site, kind: sync, source: ./site, bucket: site-bucket, exclude: ['*.tmp']}\n")
    return path


def test_help_loads_neither_the_models_nor_any_transport() -> None:
    result = _probe("--help")
    assert result["code"] == 0
    assert _loaded(result, HEAVY_FOR_HELP) == []
    assert result["gc_enabled"] is True and result["frozen"] is False  # the pause ended, nothing frozen


def test_validate_loads_the_models_but_no_transport_emulator_or_state(tmp_path: Path) -> None:
    result = _probe("validate", str(_manifest(tmp_path)))
    assert result["code"] == 0
    assert _loaded(result, ("pydantic", "yaml")) == ["pydantic", "yaml"]  # the probe sees real loads
    assert _loaded(result, HEAVY_FOR_VALIDATE) == []
    assert _loaded(result, OWN_FOR_VALIDATE) == []
    # the collector is back on after start-up, with start-up's objects set aside
    assert result["gc_enabled"] is True and result["frozen"] is True


def test_usage_error_turns_the_collector_back_on() -> None:
    result = _probe("no-such-command")
    assert result["code"] == 2
    assert result["gc_enabled"] is True and result["frozen"] is False


def test_commands_invoked_in_process_leave_the_collector_alone(tmp_path: Path) -> None:
    """Only :func:`main` pauses the collector: a command run by click's test runner (or embedded in
    another program) must not freeze or re-enable anything in its host process."""
    manifest = _manifest(tmp_path)
    frozen = gc.get_freeze_count()
    enabled = gc.isenabled()
    gc.disable()
    try:
        result = CliRunner().invoke(cli, ["validate", str(manifest)])
        assert result.exit_code == 0, result.output
        assert gc.isenabled() is False
        assert gc.get_freeze_count() == frozen
    finally:
        if enabled:
            gc.enable()


def _commands(group: click.Group) -> list[click.Command]:
    out: list[click.Command] = []
    for command in group.commands.values():
        out.extend(_commands(command) if isinstance(command, click.Group) else [command])
    return out


def test_every_command_turns_the_collector_back_on() -> None:
    """``main`` pauses the garbage collector during start-up; a command that never ends the
    pause runs without it, and a long one then keeps every reference cycle it makes (a watcher
    grew by ~8 KB per uploaded file that way). Each command's callback must call
    ``_start_up_done`` once its modules are imported."""
    from kodo_jobs import cli as cli_module

    missing = [c.name for c in _commands(cli_module.cli)
               if c.callback is None or "_start_up_done" not in c.callback.__code__.co_names]
    assert not missing, f"commands that leave the collector paused: {missing}"
