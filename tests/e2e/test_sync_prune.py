"""Include patterns prune the walk: the plan is the same as a full walk's (issue 20).

A tree with tricky patterns (negations, ``**``, anchored ``/x``, directory-only ``x/``, an
exclude) is planned twice against the same bucket (objects that match, differ, are missing
and are remote-only, some below pruned folders, with ``delete: true``): once as shipped, once
with pruning switched off (``PathFilter.dir_pruned`` replaced by the old exclude-only check).
Every action that changes something, every ``same`` and every error must be identical; the
only difference allowed is the ``skip`` rows of local files below pruned folders, which a
pruned walk never sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.jobs.sync.filters import PathFilter
from tests.e2e.sync_helpers import cli, make_tree, serve, sync_job, write_manifest

INCLUDE = ["/photos/**/*.jpg", "!photos/**/tmp*.jpg", "/docs/", "deep/er/", "/top.txt", "a0[01]*/**",
           "!a01/skip/**"]
"""Every positive pattern holds a ``/`` (one without matches at any depth and prunes nothing)."""
EXCLUDE = ["**/drafts/", "*.bak", "s0/"]


def _tree() -> dict[str, str]:
    files: dict[str, str] = {"top.txt": "t", "sub/top.txt": "not anchored", "video/v.mp4": "v" * 9,
                             "photos/x.jpg": "x", "photos/y/z.jpg": "z", "photos/y/tmp1.jpg": "tmp",
                             "photos/y/n.png": "png", "photos/drafts/d.jpg": "draft",
                             "deep/er/docs/readme.md": "r", "docs/a.bak": "bak", "docs/b.md": "b",
                             "other/photos/o.jpg": "not anchored either"}
    for top in ("a00", "a01", "a02", "a03", "b00"):
        for sub in ("s0", "skip"):
            files.update({f"{top}/{sub}/f{n}.bin": f"{top}{sub}{n}" for n in range(3)})
    return files


def _actions(manifest: Path, state: Path) -> list[dict[str, Any]]:
    res = cli("plan", manifest, "--json", "--all", "--state", state)
    assert res.code == 0, res.err
    actions: list[dict[str, Any]] = res.json()["actions"]
    return actions


def test_pruned_plan_equals_full_walk_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src"
    files = _tree()
    make_tree(src, files)
    with serve(tmp_path / "data") as emu:
        # the bucket: half the tree as it is, some objects that differ, some only remote
        remote = tmp_path / "remote"
        seeded = {k: v for i, (k, v) in enumerate(sorted(files.items())) if i % 2 == 0}
        seeded.update({k: v + "changed" for i, (k, v) in enumerate(sorted(files.items())) if i % 6 == 1})
        seeded.update({"photos/x.jpg": "X", "a00/skip/f1.bin": "same size", "docs/b.md": "bb"})
        seeded.update({"a02/s0/remote-only.bin": "r", "a00/skip/remote-only.bin": "r", "docs/gone.md": "g",
                       "video/old.mp4": "o"})
        make_tree(remote, seeded)
        seed = write_manifest(tmp_path, emu.url, sync_job(str(remote), name="seed"), name="seed.yaml")
        assert cli("run", seed, "--state", tmp_path / "seed.kjstate").code == 0
        manifest = write_manifest(tmp_path, emu.url, sync_job(str(src), include=INCLUDE, exclude=EXCLUDE,
                                                               delete=True))
        state = tmp_path / "m.kjstate"
        pruned = _actions(manifest, state)
        with monkeypatch.context() as m:
            m.setattr(PathFilter, "dir_pruned", PathFilter.dir_excluded)
            full = _actions(manifest, state)

    def by_key(actions: list[dict[str, Any]], skips: bool) -> dict[str, dict[str, Any]]:
        return {a["key"]: a for a in actions if (a["op"] == "skip") is skips}

    assert by_key(pruned, skips=False) == by_key(full, skips=False)
    ops = {a["op"] for a in full}
    assert {"upload", "update", "same", "delete", "skip"} <= ops  # every kind of verdict took part
    assert by_key(pruned, skips=False)["a00/skip/remote-only.bin"]["op"] == "delete"
    pruned_skips, full_skips = by_key(pruned, skips=True), by_key(full, skips=True)
    assert set(pruned_skips) < set(full_skips)  # pruning did skip folders
    for key in set(full_skips) - set(pruned_skips):
        assert key in files and key not in seeded, key  # only local files below pruned folders
        assert key.split("/")[0] in ("a02", "a03", "b00", "video", "sub", "other", "deep") or "/skip/" in key, key
    for key, action in pruned_skips.items():  # a remote key below a pruned folder is still protected
        if key in seeded and key not in files or key.startswith(("a02/", "video/")):
            assert action["op"] == "skip", key
    assert "a02/s0/remote-only.bin" in pruned_skips and "video/old.mp4" in pruned_skips
