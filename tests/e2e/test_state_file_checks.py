"""A damaged state file is refused with exit 2 naming it, wherever the damage is (issue 15 item 8)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kodo_jobs.actions import Action
from kodo_jobs.executor.checkpoint import Checkpoint
from tests.e2e.sync_helpers import cli, make_tree, serve, sync_job, write_manifest

KIB = 1024


def _grown_state(tmp_path: Path, url: str) -> tuple[Path, Path]:
    """A manifest whose state file has a real run in it and is larger than 256 KiB."""
    make_tree(tmp_path / "src", {f"f{i}.txt": str(i) for i in range(5)})
    m = write_manifest(tmp_path, url, sync_job())
    assert cli("run", m).code == 0
    state = m.with_suffix(".kjstate")
    with Checkpoint(state) as cp:  # an old job's plan: pages a run reads only when it lists them
        cp.store_plan("old", (Action("old", "upload", f"k{i:06d}", 1, params={"path": "x" * 80})
                              for i in range(3000)), gen="g")
    assert state.stat().st_size > 256 * KIB
    return m, state


@pytest.mark.parametrize("offset", [8 * KIB, 200 * KIB])
def test_garbage_inside_the_state_file_is_exit_2_naming_it(tmp_path: Path, offset: int) -> None:
    with serve(tmp_path / "emu") as emu:
        m, state = _grown_state(tmp_path, emu.url)
        data = bytearray(state.read_bytes())
        data[offset:offset + 4 * KIB] = random.Random(offset).randbytes(4 * KIB)
        state.write_bytes(bytes(data))
        for command in (("run", m), ("plan", m), ("status", m), ("run", m, "--dry-run")):
            res = cli(*command)
            assert res.code == 2, (command, res.code, res.out, res.err)
            assert str(state) in res.err and "internal error" not in res.err, (command, res.err)
        assert state.read_bytes() == bytes(data)  # never repaired or replaced behind the user's back


def test_an_empty_state_file_is_a_fresh_one(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        make_tree(tmp_path / "src", {"a.txt": "a"})
        m = write_manifest(tmp_path, emu.url, sync_job())
        state = m.with_suffix(".kjstate")
        state.write_bytes(b"")
        status = cli("status", m)
        assert status.code == 0 and "no run recorded yet" in status.out and "is empty" in status.out, status
        assert state.read_bytes() == b""  # status never writes
        assert cli("run", m).code == 0
        after = cli("status", m)
        assert after.code == 0 and "last run" in after.out, after
        assert state.stat().st_mode & 0o777 == 0o600
