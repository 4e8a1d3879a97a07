"""Benchmark figures live in docs/bench.md; comments and docstrings in ``kodo_jobs/`` only point there.

Why: a figure quoted next to the code goes stale silently when the code around it changes (the
emulator once justified its read size by a socket reader that had since been replaced). The
check reads comments and docstrings with ``tokenize``/``ast`` and looks for throughput, small
time units, ratios and percentages; literal examples in ````double backticks```` or quotes
(``"10%"``, ``250ms``: manifest syntax, not measurements) are not figures.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "kodo_jobs"

FIGURE = re.compile(
    r"\d(?:[\d.,]*\d)?\s?(?:[KMGT]i?B/s|µs|us|ms|ns)\b"  # throughput, sub-second times
    r"|\d(?:\.\d+)?x\b"  # ratios such as 1.9x
    r"|\d+(?:\.\d+)?\s?%"  # percentages
    r"|\(measured\s*:"  # "(measured: ...)" asides
)
LITERAL = re.compile(r"``.*?``|`[^`]*`|\"[^\"\n]*\"|'[^'\n]*'")


def _prose(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every comment and docstring of a module."""
    source = path.read_text(encoding="utf-8")
    found = [
        (tok.start[0], tok.string)
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for stmt in body:  # module/class/function docstrings and attribute docstrings
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(
                stmt.value.value, str
            ):
                found.append((stmt.lineno, stmt.value.value))
    return found


def figures_in(path: Path) -> list[str]:
    """``line: figure`` for every benchmark-looking figure in the module's comments and docstrings."""
    return [
        f"{line}: {match.group(0)}"
        for line, text in _prose(path)
        for match in FIGURE.finditer(LITERAL.sub("", text))
    ]


def test_no_benchmark_figures_in_comments_or_docstrings() -> None:
    offenders = {
        str(path.relative_to(PKG.parent)): found
        for path in sorted(PKG.rglob("*.py"))
        if (found := figures_in(path))
    }
    assert offenders == {}, "move these figures to docs/bench.md and point there: " + repr(offenders)


@pytest.mark.parametrize(
    "source",
    [
        "# reads collapse above 64 KiB (2.8 GB/s at 64 KiB)\nX = 1\n",
        'def f() -> None:\n    """Hashing costs 6-25 us per file."""\n',
        'X = 1\n"""Two processes gave 1.9x."""\n',
        "# about 8% faster\nX = 1\n",
        '"""Limits.\n\nanswering 401 (measured: RSS 61 MB -> 462 MB)."""\n',
        "# ~0.1 ms of CPU per send\nX = 1\n",
    ],
)
def test_the_check_sees_a_figure(tmp_path: Path, source: str) -> None:
    module = tmp_path / "m.py"
    module.write_text(source, encoding="utf-8")
    assert figures_in(module)


@pytest.mark.parametrize(
    "source",
    [
        '"""A duration such as ``250ms`` or ``30s``."""\n',
        'X = 1\n"""Refuse above this share ("10%") of deletions."""\n',
        "# one read buffer's worth (figures: docs/bench.md)\nX = 1\n",
        'S = "80%"  # a string in code, not prose\n',
    ],
)
def test_the_check_leaves_literals_alone(tmp_path: Path, source: str) -> None:
    module = tmp_path / "m.py"
    module.write_text(source, encoding="utf-8")
    assert figures_in(module) == []
