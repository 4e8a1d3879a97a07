"""One escaping function for text output, used by every text renderer (issue 15 item 6)."""

from __future__ import annotations

import pytest

from kodo_jobs.commands import status
from kodo_jobs.error_handler import boundary
from kodo_jobs.errors import UsageError
from kodo_jobs.log import escape_console
from kodo_jobs.textsafe import escape_lines, escape_text

HOSTILE = "a\nb\r\t\x1b[2J\x07\x7f\x9b\u202e\u2066\u200f\u2028"
RAW = ("\n", "\r", "\t", "\x1b", "\x07", "\x7f", "\x9b", "\u202e", "\u2066", "\u200f", "\u2028")


@pytest.mark.parametrize(("text", "shown"), [
    ("plain/key.txt", "plain/key.txt"),
    ("caf\u00e9/\u4e2d\u6587 \u263a.txt", "caf\u00e9/\u4e2d\u6587 \u263a.txt"),  # printable Unicode stays
    ("a\nb", "a\\nb"),
    ("\x1b[31mred", "\\x1b[31mred"),
    ("invoice\u202efdp.exe", "invoice\\u202efdp.exe"),
    (HOSTILE, "a\\nb\\r\\t\\x1b[2J\\x07\\x7f\\x9b\\u202e\\u2066\\u200f\\u2028"),
])
def test_escape_text(text: str, shown: str) -> None:
    assert escape_text(text) == shown


def test_escape_lines_keeps_our_newlines_only() -> None:
    assert escape_lines("first \x1b[1m\nsecond \u202e") == "first \\x1b[1m\nsecond \\u202e"


def test_error_messages_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    def fail() -> int:
        raise UsageError("bad key k\x1b]0;pwned\x07 in line 1\nsecond line")

    assert boundary(fail) == 2
    err = capsys.readouterr().err
    assert err == "bad key k\\x1b]0;pwned\\x07 in line 1\nsecond line\n"


def test_status_text_escapes_keys(capsys: pytest.CaptureFixture[str]) -> None:
    status._render({"state": "/s.kjstate", "lock_holder": None, "running": False, "last_run": None,
                    "counts": {"job": {"upload": {"pending": 1, "bytes": 1}}}, "pending": 1,
                    "partial_uploads": [{"job": "job", "op": "upload", "key": HOSTILE, "bytes_done": 1, "size": 2}]})
    out = capsys.readouterr().out
    for ch in RAW[1:]:
        assert ch not in out
    assert "  job: " + escape_text(HOSTILE) + ": 1 B of 2 B sent\n" in out


def test_console_log_fields_are_escaped_json_is_not() -> None:
    event = escape_console(None, "warning", {"event": "retrying", "key": HOSTILE, "keys": [HOSTILE], "n": 3})
    assert event == {"event": "retrying", "key": escape_text(HOSTILE), "keys": [escape_text(HOSTILE)], "n": 3}
