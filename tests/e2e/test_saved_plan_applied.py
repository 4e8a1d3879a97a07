"""Re-applying a saved plan that already ran says so (it was called "stale ... the object now
exists", which sent users looking for someone who had changed their bucket)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import EmulatorProc, kodo_jobs, write_manifest


def test_reapplying_an_applied_plan_says_it_was_applied(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "a.txt").write_text("a\n")
    m = write_manifest(tmp_path, "- {name: site, kind: sync, source: ./site, bucket: e2e-bucket}", emu.url)
    plan_file = tmp_path / "site.kjplan"
    assert kodo_jobs("plan", m, "-o", plan_file).returncode == 0
    first = kodo_jobs("run", m, "--plan", plan_file)
    assert first.returncode == 0, first.stdout + first.stderr
    again = kodo_jobs("run", m, "--plan", plan_file)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already applied" in again.stdout and "stale" not in again.stdout + again.stderr
    # a plan made afresh and edited by hand is still refused as stale (a different file)
    (tmp_path / "site" / "b.txt").write_text("b\n")
    assert kodo_jobs("plan", m, "-o", plan_file).returncode == 0
    (tmp_path / "site" / "b.txt").write_text("b changed\n")
    stale = kodo_jobs("run", m, "--plan", plan_file)
    assert stale.returncode == 2 and "stale" in stale.stderr, stale.stdout + stale.stderr
