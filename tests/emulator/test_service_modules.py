"""Issue 15 item 16: the emulator's service modules are required, not optional.

``build_app`` used to import ``callbacks``, ``fops`` and ``cdn`` by name and skip any that raised
``ModuleNotFoundError``, so an emulator could start without upload callbacks or persistentOps
and tests against it passed for the wrong reason. The services are now plain imports, installed
on every start.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kodo_jobs.emulator import server, services
from kodo_jobs.emulator.config import EmulatorConfig


def test_build_app_never_skips_the_upload_hooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a module lookup that fails at start-up used to be swallowed and the hooks silently left out
    monkeypatch.setitem(sys.modules, "kodo_jobs.emulator.callbacks", None)
    app = server.build_app(EmulatorConfig(data_dir=tmp_path / "data", access_key="ak", secret_key="sk"))
    assert app.state.after_upload_hooks == [services.persistent_ops_hook, services.callback_hook]
