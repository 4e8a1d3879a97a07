"""``kodo-jobs validate``: one ok line per valid file, folders expand, errors of all files at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

GOOD = "version: 1\ntarget: {embedded: true}\njobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n"


def test_valid_files_print_one_line_each(tmp_path: Path, run_validate: Callable[..., Result]) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yml").write_text(GOOD, encoding="utf-8")
    result = run_validate(str(tmp_path / "a.yaml"), str(tmp_path / "b.yml"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{tmp_path / 'a.yaml'}: ok (1 job: a (cdn))",
                                          f"{tmp_path / 'b.yml'}: ok (1 job: a (cdn))"]
    assert result.stderr == ""


def test_folder_expands_and_errors_of_every_file_are_reported(tmp_path: Path, run_validate: Callable[..., Result]) -> None:
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad1.yaml").write_text(GOOD.replace("version: 1", "version: 3"), encoding="utf-8")
    (tmp_path / "bad2.yaml").write_text(GOOD.replace("kind: cdn", "kind: cnd"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a manifest", encoding="utf-8")
    result = run_validate(str(tmp_path))
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [f"{tmp_path / 'good.yaml'}: ok (1 job: a (cdn))"]
    errors = result.stderr.splitlines()
    assert errors == [f"{tmp_path / 'bad1.yaml'}:1:1: version: must be 1 (got 3)",
                      f"{tmp_path / 'bad2.yaml'}:3:18: jobs[0].kind: unknown kind 'cnd'; did you mean 'cdn'? "
                      "(valid kinds: sync, batch, fetch, pfop, cdn)"]


def test_missing_file_and_empty_folder(tmp_path: Path, run_validate: Callable[..., Result]) -> None:
    (tmp_path / "empty").mkdir()
    result = run_validate(str(tmp_path / "nope.yaml"), str(tmp_path / "empty"))
    assert result.exit_code == 2
    assert "nope.yaml:1:1: cannot read the manifest" in result.stderr
    assert "no *.yaml or *.yml manifests in this folder" in result.stderr


def test_subprocess_binary_junk_has_no_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(bytes(range(256)) * 64)
    proc = subprocess.run([sys.executable, "-m", "kodo_jobs", "validate", str(junk)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    # bytes 0..127 are ASCII (one newline among them); 0x80 is the first invalid byte
    assert proc.stderr == f"{junk}:2:118: the manifest is not UTF-8 text (byte 0x80)\n"
