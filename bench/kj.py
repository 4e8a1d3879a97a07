"""The kodo-jobs side of the scenarios: is a piece there yet, and how to drive its CLI.

kodo-jobs is being built in parallel; a scenario whose piece has not landed reports
"not available yet: <what is missing>" instead of a figure. The check looks at the code
(placeholder commands say "not available yet"; job kinds are looked up in ``jobs.KINDS``), so
a piece that is present but broken shows up as a failure, not as "unavailable".
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PLACEHOLDER = "not available yet"


def _command_missing(command: str) -> str | None:
    path = REPO / "kodo_jobs" / "commands" / f"{command}.py"
    try:
        source = path.read_text()
    except OSError:
        return f"`kodo-jobs {command}` is missing"
    if PLACEHOLDER in source:
        return f"`kodo-jobs {command}` is not available yet"
    return None


def missing(*, commands: tuple[str, ...] = (), kinds: tuple[str, ...] = (),
            attrs: tuple[tuple[str, str], ...] = ()) -> str | None:
    """Why a kodo-jobs side cannot run yet, or None when every piece it needs has landed."""
    reasons = [r for r in (_command_missing(c) for c in commands) if r]
    # a kind module that exists but fails to import is a failure to report, not "unavailable"
    reasons += [f"job kind `{k}` is not available yet" for k in kinds
                if importlib.util.find_spec(f"kodo_jobs.jobs.{k}") is None]
    for module, attr in attrs:
        try:
            getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            reasons.append(f"`{module}.{attr}` is not available yet")
    return "not available yet: " + "; ".join(reasons) if reasons else None


def emulator_missing() -> str | None:
    """Every side needs the emulator (the SDK baselines too)."""
    return missing(commands=("emulator",))


def write_manifest(path: Path, endpoint: str, jobs: list[dict[str, Any]]) -> Path:
    """A manifest targeting one endpoint; keys come from the environment, never the file.

    JSON is valid YAML, so no YAML writer is needed.
    """
    doc = {
        "version": 1,
        "target": {"endpoint": endpoint, "access_key": "${BENCH_AK}", "secret_key": "${BENCH_SK}"},
        "jobs": jobs,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path
