"""``upload_once: true``: a seed uploads each local file version once; what other jobs took
away is not brought back, an edited file is uploaded again; ``delete: true`` is refused."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.sync_helpers import cli


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_upload_once_does_not_bring_back_what_was_moved(tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    _write(src / "a.txt", "alpha")
    _write(src / "b.txt", "beta")
    seed = _write(tmp_path / "seed.yaml", "version: 1\ntarget: {embedded: true}\njobs:\n"
                  "  - {name: seed, kind: sync, source: ./data, bucket: seeds, upload_once: true}\n")
    move = _write(tmp_path / "move.yaml", "version: 1\ntarget: {embedded: true}\njobs:\n"
                  "  - {name: mv, kind: batch, bucket: seeds, keys: [a.txt], op: {move: {dest_prefix: moved/}}}\n")
    first = cli("run", seed)
    assert first.code == 0 and "upload     done 2" in first.out, first.out
    moved = cli("run", move)
    assert moved.code == 0 and "move       done 1" in moved.out, moved.out
    again = cli("run", seed)
    assert again.code == 0 and again.out.startswith("kodo-jobs: nothing to do"), again.out
    st = (src / "a.txt").stat()
    _write(src / "a.txt", "alpha, edited")
    os.utime(src / "a.txt", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    edited = cli("run", seed)
    assert edited.code == 0 and "upload     done 1" in edited.out, edited.out


def test_upload_once_refuses_delete(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    manifest = _write(tmp_path / "m.yaml", "version: 1\ntarget: {embedded: true}\njobs:\n"
                      "  - {name: s, kind: sync, source: ./data, bucket: seeds, upload_once: true, delete: true}\n")
    res = cli("validate", manifest)
    assert res.code == 2, res.out + res.err
    assert "upload_once" in res.out + res.err and "Traceback" not in res.err
