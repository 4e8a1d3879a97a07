"""One escaping function for every text output: keys, names and messages are untrusted.

An object key or a file name may hold a newline (which would forge a line of a reviewed plan),
ANSI escape sequences (which recolour, move the cursor or retitle the terminal) or Unicode
bidirectional controls such as U+202E (which show ``exe.txt`` as ``txt.exe``). Every text
rendering - the text plan, the run summary and its failure lines, ``status``, the progress
bar, error messages and the console log - passes what it did not write itself through
:func:`escape_text`. JSON output (``plan --json``, saved plans, ``--report``, JSON logs) is
left exact: JSON escapes control characters itself and its readers are programs.

Escaped: C0 and C1 control characters and DEL (``\\n``, ``\\r``, ``\\t``, else ``\\xHH``),
the bidi controls U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069, and the line and
paragraph separators U+2028/U+2029 (``\\uHHHH``). Everything else, backslashes included, is
shown as is: a key that is already readable stays readable.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_text(text: str) -> str:
    """``text`` with control and bidi characters made visible (``a\\nb`` -> ``a\\\\nb``)."""
    return text if _UNSAFE.search(text) is None else _UNSAFE.sub(_escape, text)


def escape_lines(text: str) -> str:
    """Like :func:`escape_text` but keeps the newlines of a multi-line message we wrote."""
    return "\n".join(escape_text(line) for line in text.split("\n"))


__all__ = ["escape_lines", "escape_text"]
