"""Which keys a download sync may turn into local paths (pure checks, plus a symlink escape)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kodo_jobs.jobs.sync.download import local_path, unsafe_reason


@pytest.mark.parametrize("rel", ["a", "a/b/c.txt", "dir/.hidden", "..a", "a..b/c", "名字/ファイル.txt", "a b/c"])
def test_plain_names_are_safe(rel: str, tmp_path: Path) -> None:
    assert unsafe_reason(rel) is None
    assert local_path(tmp_path, rel) == tmp_path.joinpath(*rel.split("/"))


@pytest.mark.parametrize("rel", ["", "../x", "a/../../etc/x", "a/./b", ".", "..", "/etc/passwd", "a//b",
                                 "a\\..\\b", "C:/x", "c:x", "a\x00b", "f.kjpart", "d/f.kjpart"])
def test_escaping_or_ambiguous_names_are_refused(rel: str, tmp_path: Path) -> None:
    assert unsafe_reason(rel) is not None
    with pytest.raises(ValueError):
        local_path(tmp_path, rel)


def test_a_symlinked_directory_cannot_lead_outside(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(ValueError, match="outside"):
        local_path(root, "link/x")
