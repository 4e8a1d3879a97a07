"""The README quick start: ``manifests/quickstart.yaml`` against the embedded emulator, twice.

Run as a user would (a subprocess ``python -m kodo_jobs run``) from a temporary copy, so the
repository's ``manifests/`` stays clean. The first run uploads the sample site; the second
finds nothing to do and sends nothing. Afterwards the embedded emulator's data folder is
opened again and every object checked against the local files with the official SDK.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from kodo_jobs.emulator.config import EmulatorConfig
from kodo_jobs.emulator.server import start_emulator
from kodo_jobs.jobs.sync.filters import PathFilter
from kodo_jobs.pipeline.targets import EMBEDDED_AK, EMBEDDED_DIR, EMBEDDED_SK

REPO = Path(__file__).resolve().parents[2]


def _run(manifest: Path, report: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "kodo_jobs", "run", str(manifest), "--report", str(report)],
        capture_output=True, text=True, timeout=120, cwd=manifest.parent,
    )
    return proc, json.loads(report.read_text())


def _site_files(site: Path) -> dict[str, Path]:
    # the quick start's own filters (kept in step with manifests/quickstart.yaml)
    filt = PathFilter(exclude=["**/.DS_Store", "*.tmp"])
    return {
        "site/" + p.relative_to(site).as_posix(): p
        for p in sorted(site.rglob("*"))
        if p.is_file() and filt.selects(p.relative_to(site).as_posix())
    }


def test_quickstart_runs_twice_and_the_second_run_does_nothing(tmp_path: Path) -> None:
    work = tmp_path / "manifests"
    work.mkdir()
    shutil.copy(REPO / "manifests" / "quickstart.yaml", work)
    shutil.copytree(REPO / "manifests" / "quickstart-site", work / "quickstart-site")
    manifest = work / "quickstart.yaml"
    files = _site_files(work / "quickstart-site")
    assert len(files) >= 5

    first, report1 = _run(manifest, tmp_path / "r1.json")
    assert first.returncode == 0, first.stderr
    job1 = report1["jobs"][0]
    assert job1["status"] == "ok"
    assert job1["counts"]["upload"]["done"] == len(files)
    assert job1["bytes_sent"] == sum(p.stat().st_size for p in files.values())

    second, report2 = _run(manifest, tmp_path / "r2.json")
    assert second.returncode == 0, second.stderr
    job2 = report2["jobs"][0]
    assert job2["bytes_sent"] == 0
    assert set(job2["counts"]) == {"same"}
    assert job2["counts"]["same"]["skipped"] == len(files)
    assert "nothing to do" in second.stdout + second.stderr

    # the embedded emulator's data, reopened: every object equals its local file (SDK oracle)
    import qiniu

    config = EmulatorConfig(data_dir=work / EMBEDDED_DIR, access_key=EMBEDDED_AK, secret_key=EMBEDDED_SK)
    with start_emulator(config) as emu:
        z = qiniu.Region(up_host=emu.url, io_host=emu.url, rs_host=emu.url, rsf_host=emu.url, api_host=emu.url)
        ret, _eof, info = qiniu.BucketManager(qiniu.Auth(EMBEDDED_AK, EMBEDDED_SK), zone=z).list(
            "quickstart", prefix="site/", limit=1000)
        assert ret is not None, info
    listed = {item["key"]: item["hash"] for item in ret["items"]}
    assert listed == {key: qiniu.etag(str(path)) for key, path in files.items()}
