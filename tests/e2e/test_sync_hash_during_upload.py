"""A chunked upload of a file without a cached etag hashes it while the parts are sent: the
returned hash is still checked, and the etag is cached for the next run."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.jobs.sync import hashing
from tests.e2e.sync_helpers import assert_mirrored, cli, make_tree, serve, sync_job, write_manifest

MIB = 1024 * 1024
UPLOAD = {"resumable": "v2", "threshold": "1MiB", "part_size": "1MiB", "part_concurrency": 2}


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[RunningEmulator]:
    with serve(tmp_path / "emulator-data") as running:
        yield running


def _run(manifest: Path) -> Any:
    return cli("run", manifest, "--state", manifest.with_suffix(".kjstate"), "--report",
               manifest.with_suffix(".report.json"))


def test_big_new_file_is_hashed_once_and_cached(tmp_path: Path, emu: RunningEmulator,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src"
    make_tree(src, {"big.bin": os.urandom(3 * MIB + 5), "small.txt": "s"})
    old = 1_700_000_000  # old mtimes: the etags may be cached (racy-mtime rule)
    for p in src.iterdir():
        os.utime(p, (old, old))
    calls: list[str] = []
    threads: list[str] = []
    real = hashing.compute

    def counting(request: hashing.HashRequest) -> tuple[hashing.HashResult, bool]:
        calls.append(os.path.basename(request.path))
        threads.append(threading.current_thread().name)
        return real(request)

    monkeypatch.setattr(hashing, "compute", counting)
    manifest = write_manifest(tmp_path, emu.url, sync_job(upload=UPLOAD))
    res = _run(manifest)
    assert res.code == 0, res.err
    assert calls.count("big.bin") == 1
    assert threads[calls.index("big.bin")] == "kodo-jobs-hash"  # hashed beside the upload
    assert_mirrored(emu.url, src, v2_part_size=MIB, threshold=MIB)
    calls.clear()
    res = _run(manifest)
    assert res.code == 0, res.err
    assert calls == []  # the etag hashed during the upload was cached


def test_wrong_hash_after_a_chunked_upload_still_fails_loudly(tmp_path: Path, emu: RunningEmulator,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src"
    make_tree(src, {"big.bin": os.urandom(2 * MIB + 1)})
    from kodo_jobs.kodo.upload import uploader

    real = uploader._result

    def lying(body: dict[str, Any], key: str | None, size: int) -> Any:
        return real({**body, "hash": "FtotallyWrongHashxxxxxxxxxxx"}, key, size)

    monkeypatch.setattr(uploader, "_result", lying)
    manifest = write_manifest(tmp_path, emu.url, sync_job(upload=UPLOAD))
    res = _run(manifest)
    assert res.code == 1
    assert "hash mismatch" in manifest.with_suffix(".report.json").read_text()
