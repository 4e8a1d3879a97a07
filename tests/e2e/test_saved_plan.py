"""Saved plans (plan -o / run --plan): applied exactly as reviewed, refused when stale.

A stale plan must change nothing: the emulator's request counters prove no upload, delete or
batch ran, and the message names the first changed key.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from kodo_jobs.kodo.client import KodoClient
from tests.e2e.sync_helpers import (
    AK,
    BUCKET,
    SK,
    bucket_objects,
    cli,
    make_tree,
    serve,
    sync_job,
    write_manifest,
)


def _writes(emu: object) -> tuple[int, dict[str, str]]:
    """Upload requests so far and every object's hash (rs.batch also carries the plan's stat
    checks, so deletes are seen in the objects instead of the request counters)."""
    req = emu.stats()["requests"]  # type: ignore[attr-defined]
    objects = {k: str(v["hash"]) for k, v in bucket_objects(emu.url).items()}  # type: ignore[attr-defined]
    return sum(v for k, v in req.items() if k.startswith("up.")), objects


def _setup(tmp_path: Path, url: str) -> Path:
    make_tree(tmp_path / "src", {"a.txt": "a", "b.txt": "b", "c.txt": "c", "keep.txt": "keep"})
    with KodoClient.for_endpoint(url, AK, SK) as c:
        c.upload.upload_bytes(BUCKET, "keep.txt", b"old keep")  # -> update
        c.upload.upload_bytes(BUCKET, "zzz-extra.txt", b"extra")  # -> delete
    return write_manifest(tmp_path, url, sync_job(delete=True))


def test_plan_exit_code_then_apply_exactly_the_saved_plan(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        m = _setup(tmp_path, emu.url)
        plan_file = tmp_path / "p.kjplan"
        res = cli("plan", m, "-o", plan_file, "--exit-code")
        assert res.code == 4, res.out + res.err
        head = json.loads(plan_file.read_text())
        assert head["format"] == 1 and head["created"] and head["manifest_sha"]
        assert "format" not in cli("plan", m, "--json").json()  # only the saved file carries it
        make_tree(tmp_path / "src", {"late.txt": "added after the review"})
        applied = cli("run", m, "--plan", plan_file)
        assert applied.code == 0, applied.out + applied.err
        objects = bucket_objects(emu.url)
        assert sorted(objects) == ["a.txt", "b.txt", "c.txt", "keep.txt"]  # late.txt: not reviewed, not run
        assert cli("plan", m, "--exit-code").code == 4  # late.txt is still to do
        assert cli("run", m).code == 0
        assert cli("plan", m, "--exit-code").code == 0


def test_touched_file_makes_the_plan_stale(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        m = _setup(tmp_path, emu.url)
        plan_file = tmp_path / "p.kjplan"
        assert cli("plan", m, "-o", plan_file).code == 0
        later = time.time() + 5
        os.utime(tmp_path / "src" / "b.txt", (later, later))
        before = _writes(emu)
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2
        assert "b.txt" in res.err and "stale" in res.err, res.err
        assert _writes(emu) == before
        assert "a.txt" not in bucket_objects(emu.url)  # not even the fresh actions ran


def test_replaced_object_makes_the_plan_stale(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        m = _setup(tmp_path, emu.url)
        plan_file = tmp_path / "p.kjplan"
        assert cli("plan", m, "-o", plan_file).code == 0
        with KodoClient.for_endpoint(emu.url, AK, SK) as c:
            c.upload.upload_bytes(BUCKET, "zzz-extra.txt", b"replaced by someone else")
        before = _writes(emu)
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "zzz-extra.txt" in res.err and "replaced" in res.err, res.err
        assert _writes(emu) == before
        assert bucket_objects(emu.url)["zzz-extra.txt"]["fsize"] == len(b"replaced by someone else")


def test_object_created_where_the_plan_uploads_makes_it_stale(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        m = _setup(tmp_path, emu.url)
        plan_file = tmp_path / "p.kjplan"
        assert cli("plan", m, "-o", plan_file).code == 0
        with KodoClient.for_endpoint(emu.url, AK, SK) as c:
            c.upload.upload_bytes(BUCKET, "c.txt", b"someone was faster")
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "c.txt" in res.err and "now exists" in res.err, res.err


def test_newer_plan_format_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        m = _setup(tmp_path, emu.url)
        plan_file = tmp_path / "p.kjplan"
        assert cli("plan", m, "-o", plan_file).code == 0
        text = plan_file.read_text()
        plan_file.write_text(text.replace('"format": 1', '"format": 99', 1))
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "format 99" in res.err, res.err


def test_edited_manifest_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        m = _setup(tmp_path, emu.url)
        plan_file = tmp_path / "p.kjplan"
        assert cli("plan", m, "-o", plan_file).code == 0
        m.write_text(m.read_text() + "# reviewed? no\n")
        before = _writes(emu)
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "another version" in res.err
        assert _writes(emu) == before


def test_download_plan_stale_when_a_local_file_appears(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        with KodoClient.for_endpoint(emu.url, AK, SK) as c:
            c.upload.upload_bytes(BUCKET, "x.txt", b"x")
            c.upload.upload_bytes(BUCKET, "y.txt", b"y")
        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download"))
        plan_file = tmp_path / "p.kjplan"
        assert cli("plan", m, "-o", plan_file).code == 0
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "y.txt").write_text("mine")
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "y.txt" in res.err, res.err
        assert (tmp_path / "out" / "y.txt").read_text() == "mine"
        assert not (tmp_path / "out" / "x.txt").exists()
        (tmp_path / "out" / "y.txt").unlink()
        assert cli("run", m, "--plan", plan_file).code == 0
        assert (tmp_path / "out" / "x.txt").read_bytes() == b"x"
