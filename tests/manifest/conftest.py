"""Helpers for the manifest tests: run ``kodo-jobs validate`` in-process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kodo_jobs.cli import cli

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"


@pytest.fixture
def run_validate() -> Callable[..., Result]:
    """Invoke ``kodo-jobs validate ARGS...`` in-process; returns the click result (stdout/stderr split)."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, ["validate", *args], catch_exceptions=False)

    return invoke
