"""The sync job end to end: the CLI (in-process) against a real emulator on 127.0.0.1:0.

After every run the bucket is checked with the official SDK: every object's hash equals the
local file's etag (``sync_helpers.assert_mirrored``).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.jobs.sync import hashing
from tests.e2e.sync_helpers import (
    assert_mirrored,
    bucket_objects,
    cli,
    expected_hash,
    local_tree,
    make_tree,
    plan_ops,
    serve,
    sync_job,
    write_manifest,
)

MIB = 1024 * 1024

ODD_NAMES = {
    "index.html": "<h1>hi</h1>",
    "with space.txt": "space",
    "hash#tag.txt": "hash",
    "question?.txt": "q",
    "percent%20.txt": "pct",
    "plus+and&amp.txt": "amp",
    "emoji-😀.txt": "smile",
    "日本語/ファイル.txt": "jp",
    "café/crème.txt": "fr",
    "a-b": "dash sorts before slash",
    "a/b": "in a dir",
    "empty.txt": b"",
    "deep/er/still/file.bin": bytes(range(256)) * 10,
    ("L" * 246) + ".txt": "very long name (250 bytes)",
}


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[RunningEmulator]:
    with serve(tmp_path / "emulator-data") as running:
        yield running


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    root.mkdir()
    return root


@pytest.fixture
def hash_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count every etag computed in this process (planner inline path and run workers)."""
    calls: list[str] = []
    real = hashing.compute

    def counting(request: hashing.HashRequest) -> tuple[hashing.HashResult, bool]:
        calls.append(request.path)
        return real(request)

    monkeypatch.setattr(hashing, "compute", counting)
    monkeypatch.setattr("kodo_jobs.jobs.sync.execute.compute", counting)
    return calls


def _routes(emu: RunningEmulator) -> dict[str, int]:
    return dict(emu.stats()["requests"])


def _upload_requests(emu: RunningEmulator) -> int:
    return sum(n for route, n in _routes(emu).items() if route.startswith("up"))


def _run(manifest: Path, *extra: str) -> Any:
    res = cli("run", manifest, "--state", manifest.with_suffix(".kjstate"), *extra)
    return res


def _plan(manifest: Path) -> dict[str, list[str]]:
    return plan_ops(manifest, "--state", os.fspath(manifest.with_suffix(".kjstate")))


# -- fresh sync, resync, changes ------------------------------------------------------------

def test_fresh_sync_then_resync_sends_and_hashes_nothing(
    tmp_path: Path, emu: RunningEmulator, src: Path, hash_calls: list[str]
) -> None:
    make_tree(src, ODD_NAMES)
    manifest = write_manifest(tmp_path, emu.url, sync_job(prefix="site/"))

    planned = _plan(manifest)
    assert planned == {"upload": sorted("site/" + k for k in ODD_NAMES)}

    res = _run(manifest)
    assert res.code == 0, res.err
    assert_mirrored(emu.url, src, "site/")
    assert len(hash_calls) >= len(ODD_NAMES)  # the counter sees the first run's etags

    before_bytes = emu.stats()["bytes_received"]
    before_uploads = _upload_requests(emu)
    hash_calls.clear()
    assert _plan(manifest) == {"same": sorted("site/" + k for k in ODD_NAMES)}
    res = _run(manifest)
    assert res.code == 0, res.err
    assert hash_calls == [], "a resync of an unchanged tree must hit the hash cache"
    assert _upload_requests(emu) == before_uploads
    assert emu.stats()["bytes_received"] == before_bytes  # listing requests carry no body
    assert_mirrored(emu.url, src, "site/")
    # the run counted the unchanged files without a state row each; users see the same counts
    assert f"nothing to do ({len(ODD_NAMES)} up to date" in res.out + res.err
    status = cli("status", manifest, "--state", manifest.with_suffix(".kjstate"), "--json")
    assert status.code == 0, status.err
    assert status.json()["counts"]["site"]["same"]["skipped"] == len(ODD_NAMES)
    with sqlite3.connect(manifest.with_suffix(".kjstate")) as db:
        assert db.execute("SELECT count(*) FROM actions WHERE op = 'same'").fetchone()[0] == 0
    # the text plan counts them (its scratch state keeps no row for them either)
    text = cli("plan", manifest, "--state", manifest.with_suffix(".kjstate"), "--exit-code")
    assert text.code == 0, text.err
    assert f"0 change(s); same {len(ODD_NAMES)}" in text.out


def test_change_add_delete_then_resync_does_exactly_that(tmp_path: Path, emu: RunningEmulator, src: Path) -> None:
    make_tree(src, {"keep.txt": "k", "edit.txt": "aaaa", "gone.txt": "g", "grow.txt": "1"})
    manifest = write_manifest(tmp_path, emu.url, sync_job(delete=True))
    assert _run(manifest).code == 0
    (src / "edit.txt").write_text("bbbb")  # same size: only the etag tells
    (src / "grow.txt").write_text("12")
    (src / "new.txt").write_text("n")
    (src / "gone.txt").unlink()

    assert _plan(manifest) == {
        "update": ["edit.txt", "grow.txt"], "upload": ["new.txt"], "delete": ["gone.txt"], "same": ["keep.txt"],
    }
    res = _run(manifest, "--report", os.fspath(tmp_path / "report.json"))
    assert res.code == 0, res.err
    assert_mirrored(emu.url, src)
    assert _plan(manifest) == {"same": ["edit.txt", "grow.txt", "keep.txt", "new.txt"]}


def test_without_delete_extra_objects_stay(tmp_path: Path, emu: RunningEmulator, src: Path) -> None:
    make_tree(src, {"a.txt": "a", "b.txt": "b"})
    manifest = write_manifest(tmp_path, emu.url, sync_job())
    assert _run(manifest).code == 0
    (src / "b.txt").unlink()
    assert _plan(manifest) == {"same": ["a.txt"]}
    assert _run(manifest).code == 0
    assert set(bucket_objects(emu.url)) == {"a.txt", "b.txt"}


# -- compare modes ----------------------------------------------------------------------------

def test_compare_size_ignores_same_size_edits(tmp_path: Path, emu: RunningEmulator, src: Path) -> None:
    make_tree(src, {"same-size.txt": "aaaa", "resized.txt": "aaaa"})
    manifest = write_manifest(tmp_path, emu.url, sync_job(compare="size"))
    assert _run(manifest).code == 0
    (src / "same-size.txt").write_text("bbbb")
    (src / "resized.txt").write_text("bbbbb")
    assert _plan(manifest) == {"same": ["same-size.txt"], "update": ["resized.txt"]}
    assert _run(manifest).code == 0
    assert_mirrored(emu.url, src, keys={"resized.txt"})


def test_compare_size_mtime_uses_put_time(tmp_path: Path, emu: RunningEmulator, src: Path) -> None:
    make_tree(src, {"newer.txt": "aaaa", "older.txt": "aaaa", "resized.txt": "a"})
    manifest = write_manifest(tmp_path, emu.url, sync_job(compare="size-mtime"))
    assert _run(manifest).code == 0
    future = time.time() + 3600  # edited after the object's put time
    (src / "newer.txt").write_text("bbbb")
    os.utime(src / "newer.txt", (future, future))
    (src / "older.txt").write_text("cccc")  # same size, mtime before the upload: judged equal
    os.utime(src / "older.txt", (1_000_000_000, 1_000_000_000))
    (src / "resized.txt").write_text("abc")
    os.utime(src / "resized.txt", (1_000_000_000, 1_000_000_000))
    assert _plan(manifest) == {"same": ["older.txt"], "update": ["newer.txt", "resized.txt"]}
    assert _run(manifest).code == 0
    assert_mirrored(emu.url, src, keys={"newer.txt", "resized.txt"})


def test_compare_etag_is_the_default_and_exact(tmp_path: Path, emu: RunningEmulator, src: Path) -> None:
    make_tree(src, {"f.txt": "aaaa"})
    manifest = write_manifest(tmp_path, emu.url, sync_job())
    assert _run(manifest).code == 0
    old = (src / "f.txt").stat()
    (src / "f.txt").write_text("bbbb")
    os.utime(src / "f.txt", ns=(old.st_atime_ns, old.st_mtime_ns + 1))  # same size, 1 ns newer
    assert _plan(manifest) == {"update": ["f.txt"]}
    assert _run(manifest).code == 0
    assert_mirrored(emu.url, src)


# -- filters, prefix, delete limits ---------------------------------------------------------

def test_filters_select_files_and_protect_remote_objects(tmp_path: Path, emu: RunningEmulator, src: Path) -> None:
    make_tree(src, {
        "a.txt": "a", "b.tmp": "b", "node_modules/x.js": "x", "img/p.jpg": "p", "img/.DS_Store": "d",
    })
    manifest = write_manifest(tmp_path, emu.url, sync_job(
        prefix="p/", exclude=["*.tmp", "node_modules/", "**/.DS_Store"], delete=True))
    ops = _plan(manifest)
    assert ops["upload"] == ["p/a.txt", "p/img/p.jpg"]
    assert ops["skip"] == ["p/b.tmp", "p/img/.DS_Store"]  # excluded directories are not even entered
    assert _run(manifest).code == 0  # skip actions never fail a run
    assert set(bucket_objects(emu.url)) == {"p/a.txt", "p/img/p.jpg"}

    # an object that the filters exclude is never deleted, even with delete: true
    make_tree(tmp_path / "other", {"b.tmp": "remote only", "node_modules/y.js": "y"})
    other = write_manifest(tmp_path, emu.url, sync_job("./other", name="seed", prefix="p/"), name="seed.yaml")
    assert _run(other).code == 0
    ops = _plan(manifest)
    assert "delete" not in ops
    assert "p/node_modules/y.js" in ops["skip"]
    res = _run(manifest)
    assert res.code == 0, res.err
    assert {"p/b.tmp", "p/node_modules/y.js"} <= set(bucket_objects(emu.url))


def test_include_patterns(tmp_path: Path, emu: RunningEmulator, src: Path) -> None:
    make_tree(src, {"a.jpg": "a", "b.png": "b", "sub/c.jpg": "c", "docs/readme.md": "r"})
    manifest = write_manifest(tmp_path, emu.url, sync_job(include=["*.jpg", "docs/"]))
    ops = _plan(manifest)
    assert ops["upload"] == ["a.jpg", "docs/readme.md", "sub/c.jpg"]
    assert ops["skip"] == ["b.png"]
    assert _run(manifest).code == 0
    assert set(bucket_objects(emu.url)) == {"a.jpg", "docs/readme.md", "sub/c.jpg"}


@pytest.mark.parametrize("prefix", ["", "site/", "backup-2024_", "deep/er/"])
def test_prefix_mapping(tmp_path: Path, emu: RunningEmulator, src: Path, prefix: str) -> None:
    make_tree(src, {"a.txt": "a", "d/b.txt": "b"})
    make_tree(tmp_path / "other", {"z.txt": "outside the prefix"})
    outside = write_manifest(tmp_path, emu.url, sync_job("./other", name="o", prefix="zz/"), name="o.yaml")
    assert _run(outside).code == 0
    manifest = write_manifest(tmp_path, emu.url, sync_job(prefix=prefix, delete=True, max_delete=0))
    res = _run(manifest)
    if not prefix:  # the whole bucket mirrors src: zz/z.txt is extra, and max_delete 0 refuses
        assert res.code == 1 and "refusing to delete 1 of 1" in res.err
        assert set(bucket_objects(emu.url)) == {"zz/z.txt"}
        return
    assert res.code == 0, res.err  # objects outside the prefix are no delete candidates
    assert_mirrored(emu.url, src, prefix)
    assert "zz/z.txt" in bucket_objects(emu.url)


@pytest.mark.parametrize(("max_delete", "trips"), [(1, True), (2, False), ("40%", True), ("50%", False)])
def test_max_delete(tmp_path: Path, emu: RunningEmulator, src: Path, max_delete: Any, trips: bool) -> None:
    make_tree(src, {"a": "a", "b": "b", "c": "c", "d": "d"})
    manifest = write_manifest(tmp_path, emu.url, sync_job(delete=True, max_delete=max_delete))
    assert _run(manifest).code == 0
    (src / "a").unlink()
    (src / "b").unlink()  # 2 of 4 objects = 50%
    (src / "new").write_text("n")
    res = _run(manifest)
    if trips:
        assert res.code == 1
        assert "max_delete" in res.err and "refusing to delete 2" in res.err
        assert set(bucket_objects(emu.url)) == {"a", "b", "c", "d"}  # nothing at all was changed
        plan = cli("plan", manifest, "--state", manifest.with_suffix(".kjstate"))
        assert plan.code == 1 and "max_delete" in plan.err
    else:
        assert res.code == 0, res.err
        assert_mirrored(emu.url, src)


def test_deletes_wait_for_every_upload(tmp_path: Path, emu: RunningEmulator, src: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(src, {"a": "a", "b": "b"})
    manifest = write_manifest(tmp_path, emu.url, sync_job(delete=True))
    assert _run(manifest).code == 0
    (src / "a").unlink()
    (src / "c").write_text("cc")
    from kodo_jobs.kodo import errors

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise errors.Forbidden("refused by the test", status=403)

    monkeypatch.setattr("kodo_jobs.kodo.upload.uploader.Uploader.upload_file", refuse)
    res = _run(manifest)
    assert res.code == 1
    assert "a" in bucket_objects(emu.url), "the delete phase must not run after a failed upload"


def test_soft_delete_moves_to_trash(tmp_path: Path, emu: RunningEmulator, src: Path) -> None:
    make_tree(src, {"a": "a", "b": "b"})
    manifest = write_manifest(tmp_path, emu.url, sync_job(
        prefix="site/", delete=True, soft_delete={"trash_prefix": "trash/"}))
    assert _run(manifest).code == 0
    (src / "b").unlink()
    assert _run(manifest).code == 0
    objects = set(bucket_objects(emu.url))  # trash keys carry the run id: trash/<run id>/site/b
    assert "site/a" in objects and len(objects) == 2
    assert re.fullmatch(r"trash/[0-9a-f]{12}/site/b", (objects - {"site/a"}).pop())


# -- large files, resumable v1 and v2 ---------------------------------------------------------

@pytest.mark.parametrize("version", ["v1", "v2"])
def test_large_file_chunked(tmp_path: Path, emu: RunningEmulator, src: Path, version: str) -> None:
    make_tree(src, {"big.bin": os.urandom(5 * MIB + 123), "small.txt": "s", "exact.bin": b"x" * MIB})
    upload = {"resumable": version, "threshold": "1MiB", "part_size": "1MiB", "part_concurrency": 2}
    manifest = write_manifest(tmp_path, emu.url, sync_job(upload=upload))
    res = _run(manifest)
    assert res.code == 0, res.err
    routes = _routes(emu)
    chunked = {"v1": ("up.mkblk", "up.mkfile"), "v2": ("up.initiate", "up.upload_part")}[version]
    assert all(routes.get(r, 0) > 0 for r in chunked), f"the {version} routes were not used: {routes}"
    assert routes["up.form_upload"] == 2  # small.txt and exact.bin (at the threshold)
    part = MIB if version == "v2" else 0
    assert_mirrored(emu.url, src, v2_part_size=part, threshold=MIB)
    assert _plan(manifest) == {"same": ["big.bin", "exact.bin", "small.txt"]}


# -- a file changing during the upload ------------------------------------------------------

def test_file_modified_mid_upload_is_replanned(tmp_path: Path, emu: RunningEmulator, src: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(src, {"big.bin": b"a" * (3 * MIB), "small.txt": "before"})
    from kodo_jobs.kodo.upload.form import FormUploader
    from kodo_jobs.kodo.upload.uploader import Uploader

    real_parts = Uploader._send_parts
    real_form = FormUploader.upload_file
    changed: list[str] = []

    def parts_then_edit(self: Any, path: str, *args: Any, **kwargs: Any) -> Any:
        state = real_parts(self, path, *args, **kwargs)
        if "big" not in changed:  # the first time: change the file after its parts went up
            changed.append("big")
            Path(path).write_bytes(b"b" * (3 * MIB + 7))
        return state

    def form_then_edit(self: Any, hosts: Any, token: str, key: str, path: str, size: int, **kw: Any) -> Any:
        body = real_form(self, hosts, token, key, path, size, **kw)
        if "small" not in changed:
            changed.append("small")
            Path(path).write_text("after!")
        return body

    monkeypatch.setattr(Uploader, "_send_parts", parts_then_edit)
    monkeypatch.setattr(FormUploader, "upload_file", form_then_edit)
    manifest = write_manifest(tmp_path, emu.url, sync_job(
        upload={"resumable": "v2", "threshold": "1MiB", "part_size": "1MiB"}))
    res = _run(manifest)
    assert res.code == 0, res.err
    assert sorted(changed) == ["big", "small"]
    assert_mirrored(emu.url, src, v2_part_size=MIB, threshold=MIB)  # the new content, not the old


def test_file_that_keeps_changing_fails_loudly(tmp_path: Path, emu: RunningEmulator, src: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(src, {"hot.log": "0"})
    from kodo_jobs.kodo.upload.form import FormUploader

    real_form = FormUploader.upload_file
    counter = [0]

    def always_edit(self: Any, hosts: Any, token: str, key: str, path: str, size: int, **kw: Any) -> Any:
        body = real_form(self, hosts, token, key, path, size, **kw)
        counter[0] += 1
        Path(path).write_text("0" * (counter[0] + 1))
        return body

    monkeypatch.setattr(FormUploader, "upload_file", always_edit)
    manifest = write_manifest(tmp_path, emu.url, sync_job())
    res = _run(manifest, "--report", os.fspath(tmp_path / "r.json"))
    assert res.code == 1
    assert "changed" in (tmp_path / "r.json").read_text()
    assert counter[0] == 2  # the first upload and one re-planned upload, no endless loop


# -- bad input ----------------------------------------------------------------------------------

def test_missing_source_folder_exits_2(tmp_path: Path, emu: RunningEmulator) -> None:
    manifest = write_manifest(tmp_path, emu.url, sync_job("./does-not-exist"))
    res = _run(manifest)
    assert res.code == 2
    # said once, in the run summary (the job's note), not again on stderr
    assert "does-not-exist" in res.out and (res.out + res.err).count("does not exist") == 1
    assert cli("plan", manifest).code == 2


def test_missing_bucket_exits_1_with_a_clear_message(tmp_path: Path, emu: RunningEmulator, src: Path) -> None:
    make_tree(src, {"a": "a"})
    manifest = write_manifest(tmp_path, emu.url, {**sync_job(), "bucket": "no-such-bucket"})
    res = _run(manifest)
    assert res.code == 1
    assert "no-such-bucket" in res.err and "does not exist" in res.err
    assert "Traceback" not in res.err + res.out


def test_unreadable_entries_are_errors_and_block_deletes(tmp_path: Path, emu: RunningEmulator, src: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(src, {"ok": "o", "gone-later": "g", "secret": "s"})
    manifest = write_manifest(tmp_path, emu.url, sync_job(delete=True))
    assert _run(manifest).code == 0
    (src / "gone-later").unlink()
    (src / "secret").chmod(0o200)
    monkeypatch.setattr("kodo_jobs.jobs.sync.walk.process_identity", lambda: (os.getuid() or 4242, frozenset({4242})))
    ops = _plan(manifest)
    assert ops["error"] == ["secret"] and ops["delete"] == ["gone-later"]
    res = _run(manifest)
    assert res.code == 1
    assert "gone-later" in bucket_objects(emu.url)  # an error in phase 0 blocks the deletes


# -- plan output ------------------------------------------------------------------------------

def test_plan_text_counts_and_folds(tmp_path: Path, emu: RunningEmulator, src: Path) -> None:
    make_tree(src, {f"f{i:02d}.txt": "x" * i for i in range(30)})
    manifest = write_manifest(tmp_path, emu.url, sync_job())
    res = cli("plan", manifest)
    assert res.code == 0, res.err
    assert "upload" in res.out and "30" in res.out
    assert "more upload" in res.out and "--all" in res.out
    full = cli("plan", manifest, "--all")
    assert all(f"f{i:02d}.txt" in full.out for i in range(30))
    assert cli("plan", manifest, "--exit-code").code == 4
    doc = cli("plan", manifest, "--json").json()
    assert doc["summary"]["upload"]["count"] == 30
    assert doc["summary"]["upload"]["bytes"] == sum(range(30))
    assert {a["params"]["path"] for a in doc["actions"]} == {str(src / f"f{i:02d}.txt") for i in range(30)}


# -- resume and hash checks ---------------------------------------------------------------------

@pytest.mark.parametrize("version", ["v1", "v2"])
def test_interrupted_chunked_upload_resumes_with_only_the_missing_parts(
    tmp_path: Path, emu: RunningEmulator, src: Path, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    make_tree(src, {"big.bin": os.urandom(4 * MIB + 100)})  # v2 at 1 MiB: 5 parts; v1: 2 blocks
    from kodo_jobs.kodo import errors
    from kodo_jobs.kodo.upload.resumable import ResumableApi

    method = "upload_part" if version == "v2" else "mkblk"
    real = getattr(ResumableApi, method)
    calls: list[int] = []

    def flaky(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2 and failing[0]:  # the second part fails for good in the first run
            raise errors.Forbidden("refused by the test", status=403)
        return real(self, *args, **kwargs)

    failing = [True]
    monkeypatch.setattr(ResumableApi, method, flaky)
    upload = {"resumable": version, "threshold": "1MiB", "part_size": "1MiB", "part_concurrency": 1}
    manifest = write_manifest(tmp_path, emu.url, sync_job(upload=upload))
    assert _run(manifest).code == 1
    assert "big.bin" not in bucket_objects(emu.url)
    initiated = _routes(emu).get("up.initiate", 0)

    failing[0] = False
    calls.clear()
    report = tmp_path / "r.json"
    res = _run(manifest, "--report", os.fspath(report))
    assert res.code == 0, res.err
    total = 5 if version == "v2" else 2
    assert len(calls) == total - 1, "only the parts the server does not have are sent again"
    block = MIB if version == "v2" else 4 * MIB
    assert json.loads(report.read_text())["jobs"][0]["bytes_sent"] == 4 * MIB + 100 - block
    assert _routes(emu).get("up.initiate", 0) == initiated  # the v2 upload id was reused
    assert_mirrored(emu.url, src, v2_part_size=MIB if version == "v2" else 0, threshold=MIB)


def test_edit_keeping_size_and_mtime_is_hidden_by_the_cache_until_mtime_moves(
    tmp_path: Path, emu: RunningEmulator, src: Path
) -> None:
    make_tree(src, {"f.txt": "aaaa"})
    os.utime(src / "f.txt", (1_700_000_000, 1_700_000_000))  # old enough to be cached
    manifest = write_manifest(tmp_path, emu.url, sync_job())
    assert _run(manifest).code == 0
    st = (src / "f.txt").stat()
    (src / "f.txt").write_text("bbbb")  # same size, and the mtime is put back: the cache row is stale
    os.utime(src / "f.txt", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _plan(manifest) == {"same": ["f.txt"]}  # a known limit of any (size, mtime) cache
    os.utime(src / "f.txt", ns=(st.st_atime_ns, st.st_mtime_ns + 1000))
    assert _plan(manifest) == {"update": ["f.txt"]}
    assert _run(manifest).code == 0
    assert_mirrored(emu.url, src)


def test_wrong_hash_from_the_server_fails_loudly(tmp_path: Path, emu: RunningEmulator, src: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(src, {"f.txt": "content"})
    from kodo_jobs.kodo.upload import uploader

    real = uploader._result

    def lying(body: dict[str, Any], key: str | None, size: int) -> Any:
        return real({**body, "hash": "FtotallyWrongHashxxxxxxxxxxx"}, key, size)

    monkeypatch.setattr(uploader, "_result", lying)
    manifest = write_manifest(tmp_path, emu.url, sync_job())
    report = tmp_path / "r.json"
    res = _run(manifest, "--report", os.fspath(report))
    assert res.code == 1
    assert "hash mismatch" in report.read_text()


def test_changed_file_restarts_its_upload_and_aborts_the_stale_one(
    tmp_path: Path, emu: RunningEmulator, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(src, {"big.bin": os.urandom(3 * MIB)})
    from kodo_jobs.kodo import errors
    from kodo_jobs.kodo.upload.resumable import ResumableApi

    real = ResumableApi.upload_part

    def fail_second(self: Any, *args: Any, **kwargs: Any) -> Any:
        if args[-2] == 2:  # part number 2
            raise errors.Forbidden("refused by the test", status=403)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ResumableApi, "upload_part", fail_second)
    upload = {"resumable": "v2", "threshold": "1MiB", "part_size": "1MiB", "part_concurrency": 1}
    manifest = write_manifest(tmp_path, emu.url, sync_job(upload=upload))
    assert _run(manifest).code == 1
    monkeypatch.setattr(ResumableApi, "upload_part", real)
    before = _routes(emu)
    (src / "big.bin").write_bytes(os.urandom(3 * MIB + 5))  # the saved session no longer fits
    assert _run(manifest).code == 0
    after = _routes(emu)
    assert after["up.initiate"] == before["up.initiate"] + 1  # started fresh
    assert after["up.upload_part"] == before["up.upload_part"] + 4  # every part of the new file
    assert after["up.upload_session"] == before.get("up.upload_session", 0) + 2  # abort + complete
    assert_mirrored(emu.url, src, v2_part_size=MIB, threshold=MIB)


# -- the same through real processes: `kodo-jobs emulator --port 0` and the CLI -----------------

def test_subprocess_cli_against_subprocess_emulator(tmp_path: Path, emulator_proc: Any, src: Path) -> None:
    from tests.e2e.conftest import kodo_jobs
    from tests.e2e.conftest import write_manifest as write_proc_manifest

    make_tree(src, {"a.txt": "a", "d/b.txt": "bb", "é 😀#?.txt": "odd", "empty": b""})
    emu = emulator_proc()
    manifest = write_proc_manifest(tmp_path / "m", f"""
        - name: site
          kind: sync
          source: {src}
          bucket: e2e-bucket
          prefix: s/
          delete: true
        """, emu.url)
    first = kodo_jobs("run", manifest)
    assert first.returncode == 0, first.stderr
    assert emu.objects() == {"s/" + k: expected_hash(p) for k, p in local_tree(src).items()}
    before = emu.stats()
    second = kodo_jobs("run", manifest)
    assert second.returncode == 0, second.stderr
    after = emu.stats()
    assert after["bytes_received"] == before["bytes_received"]  # zero upload bytes
    new_routes = {r: n - before["requests"].get(r, 0) for r, n in after["requests"].items()
                  if n != before["requests"].get(r, 0)}
    new_routes.pop("admin.stats", None)  # our own stats call above
    assert set(new_routes) == {"rsf.list_objects"}, new_routes  # only the listing


def test_upload_options_and_put_policy_reach_every_object(tmp_path: Path, emu: RunningEmulator, src: Path) -> None:
    make_tree(src, {"small.txt": "s", "big.bin": os.urandom(2 * MIB + 1)})
    upload = {
        "resumable": "v1", "threshold": "1MiB", "mime_type": "application/x-kodo-test",
        "metadata": {"owner": "ops"}, "keep_last_modified": True,
        "policy": {"fileType": 1, "returnBody": '{"key":"$(key)","t":"$(x:team)"}'},  # no hash in it
        "custom_vars": {"team": "web"},
    }
    manifest = write_manifest(tmp_path, emu.url, sync_job(upload=upload))
    report = tmp_path / "r.json"
    res = _run(manifest, "--report", os.fspath(report))
    assert res.code == 0, res.err
    stats_before_sdk = _routes(emu)
    # no hash in the upload response: each upload was checked with a stat instead
    assert sum(n for r, n in stats_before_sdk.items() if r.startswith("rs.stat")) == 2, stats_before_sdk
    import qiniu

    z = qiniu.Region(up_host=emu.url, io_host=emu.url, rs_host=emu.url, rsf_host=emu.url, api_host=emu.url)
    bm = qiniu.BucketManager(qiniu.Auth("test-ak", "test-sk"), zone=z)
    for key in ("small.txt", "big.bin"):
        stat, info = bm.stat("test-bucket", key)
        assert stat is not None, info
        assert stat["type"] == 1, stat  # fileType from the put policy
        assert stat["mimeType"] == "application/x-kodo-test"
        meta = {k.lower(): v for k, v in (stat.get("x-qn-meta") or {}).items()}
        assert meta.get("owner") == "ops", stat
        assert "!last-modified" in meta, stat
    assert_mirrored(emu.url, src, threshold=MIB)
