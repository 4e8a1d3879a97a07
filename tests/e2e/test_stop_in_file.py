"""A stop request is honoured inside one large chunked upload, not only between files.

``kodo-jobs run --max-bytes 20MiB`` on a single 64 MiB file (v2, 4 MiB parts, two in
flight) must stop after about 20 MiB (plus the parts in flight) with exit 130, keep the
upload session in the state file, and the next run must finish the same upload sending only
the missing parts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from kodo_jobs.executor.checkpoint import Checkpoint
from kodo_jobs.kodo.etag import etag_file
from kodo_jobs.kodo.upload.state import UploadState

from .conftest import BUCKET, EmulatorProc, kodo_jobs, make_big_file, write_manifest

MIB = 1 << 20
PART = 4 * MIB
SIZE = 64 * MIB
SLACK = 256 * 1024  # request bodies other than file bytes (initiate, complete, listing)


def test_max_bytes_stops_inside_a_large_file_and_resumes(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    big = src / "large.bin"
    make_big_file(big, SIZE)
    manifest = write_manifest(tmp_path / "m", f"""
    - name: site
      kind: sync
      source: {src}
      bucket: {BUCKET}
      concurrency: 1
      upload: {{resumable: v2, threshold: 4MiB, part_size: 4MiB, part_concurrency: 2}}
    """, emu.url)

    r = kodo_jobs("run", manifest, "--max-bytes", "20MiB")
    assert r.returncode == 130, r.stdout + r.stderr[-2000:]
    first = emu.stats()["bytes_received"]
    # 5 parts reach the budget; at most the parts already in flight follow (2 at a time)
    assert 20 * MIB <= first <= 20 * MIB + 2 * PART + SLACK, first
    assert emu.objects() == {}  # not completed
    with Checkpoint(manifest.with_suffix(".kjstate"), create=False) as cp:
        sessions = cp.uploads()
        run = cp.last_run()
    assert run is not None and run.status == "interrupted"
    assert len(sessions) == 1
    saved = UploadState.from_json(sessions[0][1])
    assert saved.upload_id and 5 <= len(saved.parts) < SIZE // PART
    assert saved.bytes_done <= first  # every part the server got is in the saved session...
    assert first - saved.bytes_done <= SLACK  # ...and nothing the server got was left out of it
    st = json.loads(kodo_jobs("status", manifest, "--json").stdout)
    assert st["pending"] == 1

    r2 = kodo_jobs("run", manifest)
    assert r2.returncode == 0, r2.stdout + r2.stderr[-2000:]
    total = emu.stats()["bytes_received"]
    assert total <= SIZE + 3 * PART, total
    assert total - first <= SIZE - saved.bytes_done + SLACK  # the rerun sent only the missing parts
    assert emu.objects() == {"large.bin": etag_file(big)}
    with Checkpoint(manifest.with_suffix(".kjstate"), create=False) as cp:
        assert cp.uploads() == []
