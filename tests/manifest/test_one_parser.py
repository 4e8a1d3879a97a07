"""Issue 15 item 13: ``run --max-duration``/``--max-bytes`` and the manifest's ``max_duration``/
``max_bytes`` go through one parser with one error message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kodo_jobs.cli import cli
from kodo_jobs.manifest import ManifestError, load_text

MANIFEST = """version: 1
target: {embedded: true}
jobs:
  - {name: site, kind: sync, source: ./site, bucket: one-parser}
"""


def _manifest(tmp_path: Path) -> Path:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "a.txt").write_text("a", encoding="utf-8")
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST, encoding="utf-8")
    return path


def _manifest_message(field: str, value: str) -> str:
    """The message the manifest gives for ``field: value`` (without the location)."""
    text = MANIFEST.replace("bucket: one-parser}", f"bucket: one-parser, {field}: '{value}'}}")
    with pytest.raises(ManifestError) as info:
        load_text(text)
    (problem,) = info.value.problems
    assert problem.path == f"jobs[0].{field}"
    return problem.message


@pytest.mark.parametrize("value", ["1h30m", "250ms", "2d", "90"])
def test_cli_max_duration_accepts_what_the_manifest_accepts(tmp_path: Path, value: str) -> None:
    load_text(MANIFEST.replace("one-parser}", f"one-parser, max_duration: '{value}'}}"))
    result = CliRunner().invoke(cli, ["run", str(_manifest(tmp_path)), "--dry-run", "--max-duration", value])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"  site \(sync\): planned, 0 B sent, [0-9.]+s", lines[1]), lines
    assert lines[2:] == ["    upload     pending 1  (1 B)"]


@pytest.mark.parametrize(("option", "field", "value"), [
    ("--max-duration", "max_duration", "1h30x"),
    ("--max-duration", "max_duration", "0"),
    ("--max-duration", "max_duration", "-5s"),
    ("--max-bytes", "max_bytes", "10QB"),
    ("--max-bytes", "max_bytes", "lots"),
])
def test_cli_and_manifest_refuse_with_the_same_message(tmp_path: Path, option: str, field: str, value: str) -> None:
    expected = _manifest_message(field, value)
    result = CliRunner().invoke(cli, ["run", str(_manifest(tmp_path)), "--dry-run", option, value])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().endswith(f"{option} {value!r}: {expected}"), (result.stderr, expected)
