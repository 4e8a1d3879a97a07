"""A lean, strict, in-memory parser for small ``multipart/form-data`` bodies (form uploads).

Why: werkzeug's streaming parser compiles two regular expressions per request (the boundary
is part of the pattern and differs on every request, so ``re``'s cache never hits) and walks
an event machine per chunk; for a small form upload that was a large share of the emulator's
CPU (figures: docs/bench.md). Small bodies are read whole and split with ``bytes.find`` instead.

Strict on purpose: it accepts only the shape every real client sends (no preamble, CRLF line
breaks, a plain ``--boundary`` line, no folded headers, fields without a Content-Type, at most
``MAX_PARTS`` parts, a closing ``--boundary--``). Anything else returns ``None`` and the caller
hands the same bytes to werkzeug's parser, so odd or malformed bodies get exactly werkzeug's
answers (400 ...) as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from werkzeug.http import parse_options_header

MAX_PARTS = 1000  # werkzeug's default ``max_form_parts``; beyond it werkzeug decides (413)
_CRLF = b"\r\n"
_HEADER_END = b"\r\n\r\n"


@dataclass(frozen=True)
class FilePart:
    """A part with a ``filename`` parameter: its bytes stay a view into the body (no copy)."""

    name: str
    filename: str
    content_type: str | None
    data: memoryview


@dataclass(frozen=True)
class ParsedForm:
    """Fields (first value of each name wins, like ``MultiDict.get``) and file parts by name."""

    fields: dict[str, str]
    files: dict[str, FilePart]


@lru_cache(maxsize=256)
def _disposition(value: str) -> tuple[str, dict[str, str]]:
    # The same header parser werkzeug uses, so names and filenames decode identically
    # (quoting, RFC 2231 ``filename*``). Cached: field headers repeat on every request.
    return parse_options_header(value)


def _headers(block: bytes) -> dict[str, str] | None:
    """Lower-cased header names to values; None for anything werkzeug might read differently."""
    headers: dict[str, str] = {}
    for line in block.split(_CRLF):
        if not line or line[:1] in (b" ", b"\t") or b"\r" in line or b"\n" in line:
            return None  # folded / blank / stray line breaks: let werkzeug decide
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return None
        name, sep, value = text.partition(":")
        if not sep:
            return None
        key = name.strip(" \t").lower()
        if key in headers:
            return None
        headers[key] = value.strip(" \t")
    return headers


def parse_small(body: bytes, boundary: str) -> ParsedForm | None:
    """Split ``body`` on ``boundary``; None when the body is not in the simple shape (see the
    module docstring), in which case the caller must use werkzeug's parser on it."""
    if not boundary or len(boundary) > 200:
        return None
    try:
        delim = b"--" + boundary.encode("ascii")
    except UnicodeEncodeError:
        return None
    sep = _CRLF + delim
    if not body.startswith(delim + _CRLF):
        return None
    view = memoryview(body)
    fields: dict[str, str] = {}
    files: dict[str, FilePart] = {}
    pos = len(delim) + 2  # start of the first part's headers
    parts = 0
    while True:
        parts += 1
        if parts > MAX_PARTS:
            return None
        head_end = body.find(_HEADER_END, pos)
        if head_end < 0:
            return None
        headers = _headers(body[pos:head_end])
        if headers is None or "content-disposition" not in headers:
            return None
        data_start = head_end + 4
        data_end = body.find(sep, data_start)
        if data_end < 0:
            return None
        if body.find(sep[1:], pos) != data_end + 1:
            return None  # a delimiter after a bare LF first: werkzeug accepts that one, its rules decide
        disposition, params = _disposition(headers["content-disposition"])
        name = params.get("name")
        if disposition != "form-data" or name is None:
            return None
        filename = params.get("filename")
        if filename is not None:
            files.setdefault(name, FilePart(name, filename, headers.get("content-type"),
                                            view[data_start:data_end]))
        else:
            if "content-type" in headers:
                return None  # a charset might apply: werkzeug's rules
            value = body[data_start:data_end].decode("utf-8", "replace")
            fields.setdefault(name, value)
        after = data_end + len(sep)
        tail = body[after:after + 2]
        if tail == _CRLF:
            pos = after + 2
            continue
        if tail == b"--" and body[after + 2:] in (b"", _CRLF):
            return ParsedForm(fields, files)
        return None
