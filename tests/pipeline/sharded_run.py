"""One manifest run as 3 shards (one after the other, as an Indexed Job's pods could), with a
report per shard: what ``status`` across shards and ``report merge`` are tested on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.sync_helpers import cli, make_tree, serve, sync_job, write_manifest

N = 3
FILES = {f"d{i % 4}/f{i:03d}.txt": f"body {i}" * (i + 1) for i in range(30)}


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(folder, manifest): ``r0.json`` .. ``r2.json`` in the folder are the shards' reports."""
    tmp = tmp_path_factory.mktemp("shards")
    make_tree(tmp / "src", FILES)
    with serve(tmp / "emu") as emu:
        m = write_manifest(tmp, emu.url, sync_job())
        for i in range(N):
            res = cli("run", m, "--shard", f"{i}/{N}", "--report", tmp / f"r{i}.json")
            assert res.code == 0, res.err
        yield tmp, m
