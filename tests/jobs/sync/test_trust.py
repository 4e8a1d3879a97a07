"""A saved sync action is accepted only as the job's planner could have produced it."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.actions import Action
from kodo_jobs.jobs.sync.trust import Untrusted, trusted, walked_path
from kodo_jobs.manifest.spec_sync import SyncJob


def _spec(source: Path, **fields: Any) -> SyncJob:
    return SyncJob.model_validate({"name": "s", "kind": "sync", "source": str(source), "bucket": "bkt", **fields})


def test_upload_path_is_rebuilt_from_folder_and_key(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("x")
    spec = _spec(tmp_path, prefix="p/")
    good = Action("s", "upload", "p/d/f.txt", 1, params={"path": str(tmp_path / "d" / "f.txt"), "mtime_ns": 1})
    assert trusted(spec, good).params["path"] == os.path.join(str(tmp_path), "d", "f.txt")
    other = Action("s", "upload", "p/d/f.txt", 1, params={"path": "/etc/passwd", "mtime_ns": 1})
    with pytest.raises(Untrusted, match="not the job's file"):
        trusted(spec, other)


def test_nfd_file_name_on_disk_is_the_same_file(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "caf\u00e9.txt")
    (tmp_path / nfd).write_text("x")
    key = unicodedata.normalize("NFC", nfd)
    spec = _spec(tmp_path)
    a = Action("s", "upload", key, 1, params={"path": str(tmp_path / nfd), "mtime_ns": 1})
    assert trusted(spec, a).params["path"] == str(tmp_path / nfd)


def test_symlinked_directory_escape_is_refused_unless_following(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    src = tmp_path / "src"
    src.mkdir()
    (src / "link").symlink_to(outside)
    path = str(src / "link" / "secret")
    with pytest.raises(Untrusted, match="resolves outside"):
        walked_path(str(src), "link/secret", path, follow_symlinks=False)
    assert walked_path(str(src), "link/secret", path, follow_symlinks=True) == path


@pytest.mark.parametrize("rel", ["../x", "a/../../x", "a//b", "./a", ""])
def test_non_plain_relative_keys_are_refused(tmp_path: Path, rel: str) -> None:
    with pytest.raises(Untrusted, match="plain relative path"):
        walked_path(str(tmp_path), rel, os.path.join(str(tmp_path), rel), follow_symlinks=True)


def test_ops_phases_prefix_and_delete_switch(tmp_path: Path) -> None:
    up = _spec(tmp_path, prefix="p/")
    with pytest.raises(Untrusted, match="never plans 'download'"):
        trusted(up, Action("s", "download", "p/a", params={"path": str(tmp_path / "a"), "hash": "h"}))
    with pytest.raises(Untrusted, match="phase 0"):
        trusted(up, Action("s", "delete", "p/a", phase=0, params={"hash": "h"}))
    with pytest.raises(Untrusted, match="prefix"):
        trusted(up, Action("s", "same", "q/a"))
    with pytest.raises(Untrusted, match="does not delete"):
        trusted(up, Action("s", "delete", "p/a", phase=1, params={"hash": "h"}))
    down = _spec(tmp_path, direction="download")
    with pytest.raises(Untrusted, match="never plans 'upload'"):
        trusted(down, Action("s", "upload", "a", params={"path": str(tmp_path / "a"), "mtime_ns": 1}))


def test_download_path_must_be_the_keys_file(tmp_path: Path) -> None:
    spec = _spec(tmp_path, direction="download")
    ok = Action("s", "download", "d/x", 1, params={"path": str(tmp_path / "d" / "x"), "hash": "h"})
    assert trusted(spec, ok).params["path"] == str(tmp_path / "d" / "x")
    with pytest.raises(Untrusted, match="would not stay inside"):
        trusted(spec, Action("s", "download", "../x", 1, params={"path": str(tmp_path.parent / "x"), "hash": "h"}))


def test_soft_delete_parameters_must_be_the_jobs(tmp_path: Path) -> None:
    spec = _spec(tmp_path, delete=True, soft_delete={"trash_prefix": ".trash/"})
    planned = trusted(spec, Action("s", "delete", "k", phase=1,
                                   params={"hash": "h", "trash_key": ".trash/{run_id}/k"}))
    assert planned.params["trash_key"] == ".trash/{run_id}/k"
    with pytest.raises(Untrusted, match="soft_delete"):
        trusted(spec, Action("s", "delete", "k", phase=1, params={"hash": "h", "trash_key": "public/evil"}))
