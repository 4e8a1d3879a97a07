"""Soft delete for sync ``delete`` and batch ``delete``: into ``<trash_prefix><run id>/<key>``
(every deleted version kept, one folder per run) or ``deleteAfterDays`` instead of deleting."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

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


def _run_id(manifest: Path, report: Path) -> str:
    res = cli("run", manifest, "--report", report)
    assert res.code == 0, res.out + res.err
    return str(json.loads(report.read_text())["run_id"])


def test_sync_trash_keeps_every_deleted_version_under_its_run_id(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_tree(src, {"a": "a", "b": "version 1"})
    with serve(tmp_path / "emu") as emu:
        m = write_manifest(tmp_path, emu.url, sync_job(prefix="site/", delete=True,
                                                      soft_delete={"trash_prefix": ".trash/"}))
        report = tmp_path / "r.json"
        _run_id(m, report)
        (src / "b").unlink()
        first = _run_id(m, report)
        make_tree(src, {"b": "version 2!"})
        _run_id(m, report)
        (src / "b").unlink()
        second = _run_id(m, report)
        objects = bucket_objects(emu.url)
        assert set(objects) == {"site/a", f".trash/{first}/site/b", f".trash/{second}/site/b"}
        assert objects[f".trash/{first}/site/b"]["fsize"] == len("version 1")
        assert objects[f".trash/{second}/site/b"]["fsize"] == len("version 2!")
        # the trash is outside the synced prefix: never planned as a delete of the mirror
        assert cli("plan", m, "--exit-code").code == 0


def test_trash_inside_the_synced_prefix_is_left_alone(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_tree(src, {"a": "a", "b": "b"})
    with serve(tmp_path / "emu") as emu:
        m = write_manifest(tmp_path, emu.url, sync_job(delete=True, soft_delete={"trash_prefix": ".trash/"}))
        assert cli("run", m).code == 0
        (src / "b").unlink()
        run_id = _run_id(m, tmp_path / "r.json")
        assert cli("run", m).code == 0  # the trashed object is not "extra": not moved again
        assert set(bucket_objects(emu.url)) == {"a", f".trash/{run_id}/b"}


def test_sync_delete_after_days_expires_instead_of_deleting(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_tree(src, {"a": "a", "b": "b"})
    with serve(tmp_path / "emu") as emu:
        m = write_manifest(tmp_path, emu.url, sync_job(delete=True, soft_delete={"delete_after_days": 3}))
        assert cli("run", m).code == 0
        (src / "b").unlink()
        assert cli("run", m).code == 0
        with KodoClient.for_endpoint(emu.url, AK, SK) as c:
            raw: dict[str, Any] = dict(c.rs.stat(BUCKET, "b").raw)
        assert raw.get("expiration", 0) > time.time() + 2 * 86400  # still there, expiring in ~3 days


def test_batch_delete_with_trash_prefix_moves_under_the_run_id(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        with KodoClient.for_endpoint(emu.url, AK, SK) as c:
            for key in ("old/1", "old/2", "keep/x"):
                c.upload.upload_bytes(BUCKET, key, key.encode())
        m = write_manifest(tmp_path, emu.url, {"name": "purge", "kind": "batch", "bucket": BUCKET,
                                               "select": {"prefix": "old/"}, "op": {"delete": {}},
                                               "soft_delete": {"trash_prefix": "trash/"}})
        run_id = _run_id(m, tmp_path / "r.json")
        assert set(bucket_objects(emu.url)) == {"keep/x", f"trash/{run_id}/old/1", f"trash/{run_id}/old/2"}
