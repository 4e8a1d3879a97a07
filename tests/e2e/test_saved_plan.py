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


# -- a saved plan is untrusted input: every action must be one the manifest could produce ----------

def _edit_actions(plan_file: Path, edit: object) -> None:
    """Rewrite the saved plan's action lines through ``edit(action_dict) -> action_dict``."""
    lines = plan_file.read_text(encoding="utf-8").split("\n")
    out = []
    for line in lines:
        text = line.strip().rstrip(",")
        if text.startswith("{") and '"op"' in text and not line.startswith("{"):
            d = edit(json.loads(text))  # type: ignore[operator]
            line = "  " + json.dumps(d, ensure_ascii=False) + ("," if line.rstrip().endswith(",") else "")
        out.append(line)
    plan_file.write_text("\n".join(out), encoding="utf-8")


def test_edited_upload_path_outside_the_folder_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        make_tree(tmp_path / "src", {"new.txt": "public"})
        secret = tmp_path / "outside-secret.txt"
        secret.write_text("do not upload me")
        m = write_manifest(tmp_path, emu.url, sync_job(prefix="tp/"))
        plan_file = tmp_path / "p.kjplan"
        assert cli("plan", m, "-o", plan_file).code == 0
        st = secret.stat()

        def edit(d: dict[str, object]) -> dict[str, object]:
            if d["key"] == "tp/new.txt":
                d["size"] = st.st_size
                d["params"] = {**d["params"], "path": str(secret), "mtime_ns": st.st_mtime_ns}  # type: ignore[dict-item]
            return d

        _edit_actions(plan_file, edit)
        before = _writes(emu)
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2, res.out + res.err
        assert "tp/new.txt" in res.err and "path" in res.err, res.err
        assert _writes(emu) == before
        assert bucket_objects(emu.url) == {}


def test_edited_download_delete_path_outside_the_folder_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        make_tree(tmp_path / "out", {"stale.txt": "local only"})
        victim = tmp_path / "precious.txt"
        victim.write_text("keep me")
        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download", delete=True))
        plan_file = tmp_path / "p.kjplan"
        assert cli("plan", m, "-o", plan_file).code == 0
        st = victim.stat()

        def edit(d: dict[str, object]) -> dict[str, object]:
            if d["op"] == "delete":
                d["params"] = {"path": str(victim), "local_size": st.st_size, "local_mtime_ns": st.st_mtime_ns}
            return d

        _edit_actions(plan_file, edit)
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2, res.out + res.err
        assert "stale.txt" in res.err, res.err
        assert victim.read_text() == "keep me"
        assert (tmp_path / "out" / "stale.txt").read_text() == "local only"


def test_dotdot_key_in_a_download_plan_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        with KodoClient.for_endpoint(emu.url, AK, SK) as c:
            c.upload.upload_bytes(BUCKET, "dl/x.txt", b"x")
        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download", prefix="dl/"))
        plan_file = tmp_path / "p.kjplan"
        assert cli("plan", m, "-o", plan_file).code == 0
        (tmp_path / "out").mkdir()
        target = tmp_path / "escaped.txt"

        def edit(d: dict[str, object]) -> dict[str, object]:
            if d["key"] == "dl/x.txt":
                d["key"] = "dl/../escaped.txt"
                d["id"] = "site\x1fdownload\x1fdl/../escaped.txt"
                d["params"] = {**d["params"], "path": str(target)}  # type: ignore[dict-item]
            return d

        _edit_actions(plan_file, edit)
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "dl/../escaped.txt" in res.err, res.out + res.err
        assert not target.exists()


def test_key_outside_the_prefix_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        make_tree(tmp_path / "src", {"a.txt": "a"})
        m = write_manifest(tmp_path, emu.url, sync_job(prefix="tp/"))
        plan_file = tmp_path / "p.kjplan"
        cli("plan", m, "-o", plan_file)

        def edit(d: dict[str, object]) -> dict[str, object]:
            d["key"] = "elsewhere/a.txt"
            return d

        _edit_actions(plan_file, edit)
        before = _writes(emu)
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "elsewhere/a.txt" in res.err and "prefix" in res.err, res.err
        assert _writes(emu) == before


def test_wrong_op_for_the_kind_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        m = _setup(tmp_path, emu.url)
        plan_file = tmp_path / "p.kjplan"
        cli("plan", m, "-o", plan_file)

        def edit(d: dict[str, object]) -> dict[str, object]:
            if d["key"] == "a.txt":
                d["op"] = "download"  # an upload sync never downloads
            return d

        _edit_actions(plan_file, edit)
        before = _writes(emu)
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "download" in res.err and "a.txt" in res.err, res.err
        assert _writes(emu) == before


def test_delete_moved_to_phase_zero_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        m = _setup(tmp_path, emu.url)
        plan_file = tmp_path / "p.kjplan"
        cli("plan", m, "-o", plan_file)

        def edit(d: dict[str, object]) -> dict[str, object]:
            if d["op"] == "delete":
                d["phase"] = 0
            return d

        _edit_actions(plan_file, edit)
        before = _writes(emu)
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "zzz-extra.txt" in res.err and "phase" in res.err, res.err
        assert _writes(emu) == before


def test_soft_delete_turned_into_a_hard_delete_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        make_tree(tmp_path / "src", {"a.txt": "a"})
        with KodoClient.for_endpoint(emu.url, AK, SK) as c:
            c.upload.upload_bytes(BUCKET, "gone.txt", b"gone")
        m = write_manifest(tmp_path, emu.url, sync_job(delete=True, soft_delete={"trash_prefix": ".trash/"}))
        plan_file = tmp_path / "p.kjplan"
        cli("plan", m, "-o", plan_file)

        def edit(d: dict[str, object]) -> dict[str, object]:
            if d["op"] == "delete":
                d["params"] = {"hash": d["params"]["hash"]}  # type: ignore[index]
            return d

        _edit_actions(plan_file, edit)
        before = _writes(emu)
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "gone.txt" in res.err, res.err
        assert _writes(emu) == before


def test_unknown_job_in_the_plan_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        m = _setup(tmp_path, emu.url)
        plan_file = tmp_path / "p.kjplan"
        cli("plan", m, "-o", plan_file)
        text = plan_file.read_text(encoding="utf-8")
        first, rest = text.split("\n", 1)
        head = json.loads(first[: -len(', "actions": [')] + "}")
        head["jobs"].append({"name": "ghost", "kind": "sync", "summary": {}})
        plan_file.write_text(json.dumps(head)[:-1] + ', "actions": [\n' + rest, encoding="utf-8")
        res = cli("run", m, "--plan", plan_file)
        assert res.code == 2 and "ghost" in res.err, res.out + res.err
