"""Issue 19 item 9: an unquoted glob that YAML reads as an alias (``exclude: [*.tmp]``) is
recognised and the message says to quote it, at the glob's line and column."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

HEAD = "version: 1\ntarget: {embedded: true}\njobs:\n  - name: site\n    kind: sync\n    source: .\n    bucket: media\n"


@pytest.mark.parametrize(("line", "glob", "col"), [
    ("    exclude: [*.tmp]\n", "*.tmp", 15),
    ("    exclude: ['a', *.log]\n", "*.log", 20),
    ("    include:\n      - *.jpg\n", "*.jpg", 9),
    ("    exclude: [**/.DS_Store]\n", "**/.DS_Store", 15),
    ("    prefix: *\n", "*", 13),
])
def test_unquoted_glob_gets_a_quoting_hint(tmp_path: Path, run_validate: Callable[..., Result],
                                           line: str, glob: str, col: int) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(HEAD + line, encoding="utf-8")
    result = run_validate(str(manifest))
    assert result.exit_code == 2, result.output
    row = HEAD.count("\n") + line.count("\n")
    assert result.stderr == (
        f"{manifest}:{row}:{col}: invalid YAML: a plain value cannot start with '*' (YAML reads it as an "
        f"alias): quote the glob, e.g. \"{glob}\"\n"
    )


def test_a_real_undefined_alias_is_not_called_a_glob(tmp_path: Path, run_validate: Callable[..., Result]) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(HEAD + "    exclude: [*tmp]\n    upload: *common\n", encoding="utf-8")
    result = run_validate(str(manifest))
    assert result.exit_code == 2
    assert result.stderr == (f"{manifest}:8:15: invalid YAML: found undefined alias 'tmp' (define it first "
                             "with &tmp, or quote the value if it is not an alias: \"*tmp\")\n")
