"""batch: keys files (pure parsing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kodo_jobs.errors import EXIT_INVALID
from kodo_jobs.jobs.keys import InputFileError, KeyLine, parse_keys, read_keys_file


def test_single_keys_skip_blank_and_comment_lines_and_keep_spaces() -> None:
    lines = ["a.txt\n", "\n", "   \n", "# comment\n", "  # indented comment\n", "with space .txt\r\n", "b\textra\n"]
    assert parse_keys(lines, pairs=False, source="k.txt") == [
        KeyLine(1, "a.txt"), KeyLine(6, "with space .txt"), KeyLine(7, "b"),
    ]


def test_pairs() -> None:
    assert parse_keys(["a\tb\n", "c/d\te/f"], pairs=True, source="p") == [KeyLine(1, "a", "b"), KeyLine(2, "c/d", "e/f")]


def test_errors_are_located_by_line_and_all_reported() -> None:
    lines = ["ok\tfine", "missing-tab", "x\ty\tz", "\tempty-src", "long\t" + "k" * 751]
    with pytest.raises(InputFileError) as info:
        parse_keys(lines, pairs=True, source="moves.tsv")
    assert info.value.exit_code == EXIT_INVALID
    assert info.value.problems == [
        "moves.tsv:2: expected 'src<TAB>dst', found no tab",
        "moves.tsv:3: expected 'src<TAB>dst', found 3 columns",
        "moves.tsv:4: empty key",
        "moves.tsv:5: key longer than 750 bytes",
    ]


def test_read_keys_file_missing_and_crlf(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="file not found"):
        read_keys_file(tmp_path / "nope.txt", pairs=False)
    path = tmp_path / "keys.txt"
    path.write_bytes(b"k1\r\nk\xc2\x852\r\n\r\n")  # U+0085 inside a key must not split the line
    assert [k.key for k in read_keys_file(path, pairs=False)] == ["k1", "k\u00852"]
