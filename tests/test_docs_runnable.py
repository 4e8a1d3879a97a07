"""Documentation that runs as written.

Every fenced block of ``README.md`` and ``docs/*.md`` whose info string carries the word
``runnable`` (for example ```` ```python runnable ```` or ```` ```bash runnable ````; GitHub
highlights by the first word and ignores the rest) is extracted and run:

* ``python runnable``: with this interpreter, in a fresh folder, against an emulator started
  for the test with the emulator's default keys (``kodo-jobs-ak`` / ``kodo-jobs-sk``) and the
  buckets of the README's emulator command (``media``, ``secret:private``). Docs write the
  emulator's address as ``127.0.0.1:9400``; it is replaced by the started emulator's address
  (the only rewrite made).
* ``bash runnable``: with ``bash -euo pipefail`` in a fresh copy of ``manifests/`` and
  ``schema/``, with this venv's ``bin/`` first on ``PATH`` and ``.venv`` linked to it, so both
  ``kodo-jobs`` and ``.venv/bin/kodo-jobs`` work as in the README.

A block that needs an account, the internet or a long-running server is not marked.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from kodo_jobs.emulator.config import EmulatorConfig
from kodo_jobs.emulator.server import RunningEmulator, start_emulator

REPO = Path(__file__).resolve().parent.parent
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
DOC_ADDRESS = "127.0.0.1:9400"
_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```\s*$", re.S | re.M)


@dataclass(frozen=True)
class Block:
    """One runnable block: where it is, its language and its text."""

    path: Path
    line: int
    language: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def runnable_blocks() -> list[Block]:
    """Every block marked ``runnable`` in the README and docs, in file order."""
    found = []
    for path in DOC_FILES:
        source = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(source):
            words = match["info"].split()
            if "runnable" in words[1:]:
                line = source.count("\n", 0, match.start()) + 1
                found.append(Block(path, line, words[0], match["body"]))
    return found


BLOCKS = runnable_blocks()


def test_the_readme_has_runnable_blocks() -> None:
    languages = {b.language for b in BLOCKS if b.path.name == "README.md"}
    assert {"python", "bash"} <= languages, languages


def test_only_known_languages_are_marked() -> None:
    assert {b.language for b in BLOCKS} <= {"python", "bash"}


@pytest.fixture
def docs_emulator(tmp_path: Path) -> RunningEmulator:
    running = start_emulator(EmulatorConfig(
        data_dir=tmp_path / "emulator", access_key="kodo-jobs-ak", secret_key="kodo-jobs-sk",
        buckets=("media", "secret:private")))
    yield running  # type: ignore[misc]
    running.stop()


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.language == "python"], ids=lambda b: b.id)
def test_python_block_runs(block: Block, tmp_path: Path, docs_emulator: RunningEmulator) -> None:
    address = docs_emulator.url.split("://", 1)[1]
    script = tmp_path / "block.py"
    script.write_text(block.text.replace(DOC_ADDRESS, address), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([sys.executable, str(script)], cwd=work, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{block.id} failed:\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.language == "bash"], ids=lambda b: b.id)
def test_bash_block_runs(block: Block, tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(REPO / "manifests", work / "manifests",
                    ignore=shutil.ignore_patterns(".kodo-jobs", "*.kjstate*"))
    shutil.copytree(REPO / "schema", work / "schema")
    bin_dir = Path(sys.executable).parent
    (work / ".venv").symlink_to(bin_dir.parent)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("KODO_JOBS_LOG_LEVEL", None)
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", block.text], cwd=work, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, f"{block.id} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
