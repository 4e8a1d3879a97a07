"""`status` shows how big the state file is and which tables make it so (issue 20)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from kodo_jobs.executor.checkpoint import Checkpoint
from tests.e2e.sync_helpers import cli, make_tree, serve, sync_job, write_manifest


def test_status_shows_the_state_file_size_and_row_counts(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        make_tree(tmp_path / "src", {f"f{i}.txt": f"file {i}" for i in range(12)})
        for f in (tmp_path / "src").iterdir():  # old enough to be cached (a just-written file is not)
            os.utime(f, (1_700_000_000, 1_700_000_000))
        m = write_manifest(tmp_path, emu.url, sync_job())
        assert cli("run", m).code == 0
        state = m.with_suffix(".kjstate")
        with Checkpoint(state, create=False, readonly=True) as cp:
            info = cp.size_info()
        assert info.hash_cache_rows == 12 and info.runs_rows == 1 and info.actions_rows == 12
        text = cli("status", m)
        assert text.code == 0, text
        line = next(x for x in text.out.splitlines() if x.startswith("state file: "))
        assert re.fullmatch(r"state file: \d+\.\d KiB \((\d+) bytes; hash cache 12 entries, 12 actions, 1 runs\)",
                            line), line
        doc = json.loads(cli("status", m, "--json").out)
        size = doc["state_size"]
        assert (size["hash_cache"], size["actions"], size["runs"]) == (12, 12, 1)
        assert size["bytes"] >= state.stat().st_size > 0
