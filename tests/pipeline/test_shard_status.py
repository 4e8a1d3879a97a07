"""``status`` of a sharded run (issue 17 part 4): the shard state files beside the state file,
per shard and summed; ``--shard I/N`` still shows one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kodo_jobs.pipeline.shard import in_shard
from kodo_jobs.pipeline.shard_status import find_shards
from tests.e2e.sync_helpers import cli
from tests.pipeline.sharded_run import FILES, N


def test_status_shows_the_shards_together(sharded: Any) -> None:
    tmp, m = sharded
    res = cli("status", m)
    assert res.code == 0, res.err
    per_shard = [sum(1 for k in FILES if in_shard(k, (i, N))) for i in range(N)]
    for i in range(N):
        assert f"shard {i}/{N}: done {per_shard[i]}, failed 0, unfinished 0; last run " in res.out, res.out
    assert f"all {N} shards: done {len(FILES)}, failed 0, unfinished 0" in res.out
    assert "all shards ended ok" in res.out
    doc = json.loads(cli("status", m, "--json").out)
    (group,) = doc["shard_sets"]
    assert group["count"] == N and group["total"]["done"] == len(FILES) and group["total"]["all_ok"]


def test_status_with_shard_shows_one(sharded: Any) -> None:
    tmp, m = sharded
    res = cli("status", m, "--shard", f"1/{N}")
    assert res.code == 0, res.err
    assert f"m.kjstate.shard-1-of-{N}" in res.out and "shards of" not in res.out
    assert cli("status", m, "--shard", "5/3").code == 2


def test_find_shards_groups_by_count_and_ignores_other_names(tmp_path: Path) -> None:
    state = tmp_path / "m.kjstate"
    for name in ("m.kjstate.shard-0-of-2", "m.kjstate.shard-1-of-2", "m.kjstate.shard-0-of-4",
                 "m.kjstate.shard-4-of-4", "other.kjstate.shard-0-of-2", "m.kjstate.shard-x-of-2"):
        (tmp_path / name).write_bytes(b"")
    found = find_shards(state)
    assert sorted(found) == [2, 4]
    assert [p.name for p in found[2]] == ["m.kjstate.shard-0-of-2", "m.kjstate.shard-1-of-2"]
    assert [p.name for p in found[4]] == ["m.kjstate.shard-0-of-4"]
