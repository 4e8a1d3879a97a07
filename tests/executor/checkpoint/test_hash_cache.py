"""The hash cache (and, in the same file, upload sessions survive a reopen)."""

from __future__ import annotations

from pathlib import Path

from kodo_jobs.executor.checkpoint import Checkpoint


def test_hash_cache_and_uploads(tmp_path: Path) -> None:
    p = tmp_path / "s"
    with Checkpoint(p) as cp:
        cp.remember_etag("/a", 3, 111, "Fxyz")
        cp.save_upload("j\x1fupload\x1fk", '{"parts": []}')
        assert cp.etag_for("/a", 3, 111) == "Fxyz"
        assert cp.etag_for("/a", 3, 112) is None
    with Checkpoint(p) as cp:
        assert cp.etag_for("/a", 3, 111) == "Fxyz"
        assert cp.load_upload("j\x1fupload\x1fk") == '{"parts": []}'
        cp.drop_upload("j\x1fupload\x1fk")
        assert cp.load_upload("j\x1fupload\x1fk") is None
