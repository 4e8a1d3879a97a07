"""Upload sessions: durable against a kill, orphans dropped per job."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from kodo_jobs.executor.checkpoint import Checkpoint

from ..fakes import actions


def test_save_upload_durable_against_kill(tmp_path: Path) -> None:
    """A saved upload session survives the process being killed right after the call."""
    p = tmp_path / "s"
    code = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from kodo_jobs.executor.checkpoint import Checkpoint
        cp = Checkpoint(Path({str(p)!r}))
        cp.save_upload("a", "state-1")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    subprocess.run([sys.executable, "-c", code], check=False)
    with Checkpoint(p) as cp:
        assert cp.load_upload("a") == "state-1"
        assert cp.integrity_ok()


def test_orphan_upload_sessions_dropped_per_job(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "s") as cp:
        acts = actions("j", 2)
        cp.store_plan("j", acts, gen="g")
        cp.save_upload(acts[0].id, "{}")  # still pending: kept
        cp.save_upload("j\x1fupload\x1fgone.bin", "{}")  # no action any more: dropped
        cp.save_upload("other\x1fupload\x1fx", "{}")  # another job: kept
        assert cp.drop_orphan_uploads("j") == 1
        assert sorted(a for a, _, _ in cp.uploads()) == sorted([acts[0].id, "other\x1fupload\x1fx"])
