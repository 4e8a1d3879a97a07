"""``python -m bench --latency D``: the option is checked up front, and the measured sides'
emulator is started with ``--latency D`` (the quick run of the variants is in docs/bench.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.emulator import EmulatorProcess

REPO = Path(__file__).resolve().parent.parent


def test_bad_latency_is_a_usage_error(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "bench", "--quick", "--latency", "soon", "--work", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "--latency" in res.stderr and "Traceback" not in res.stderr


def test_emulator_process_passes_the_latency(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "data", tmp_path / "emu.log", latency="1ms").start() as emu:
        assert "requests" in emu.stats()  # it serves
        assert emu._proc is not None
        assert emu._proc.args[-2:] == ["--latency", "1ms"]
