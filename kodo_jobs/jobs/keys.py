"""Keys files and URL files: the plain-text inputs of batch and fetch jobs.

Formats (qshell-compatible, so files exported by one tool feed the other):

* keys file, single mode: one object key per line; a second column is kept as the optional
  destination (move/copy/rename use it, other ops ignore it and anything after the key, so
  qshell's ``listbucket`` output works as a delete list);
* keys file, pair mode (move/copy/rename): ``src<TAB>dst`` per line;
* URL file (fetch): ``url``, ``url<TAB>key`` or ``url<TAB>key<TAB>hash`` per line (the
  expected etag or md5, for ``skip_existing: etag|md5``; an empty key column means "derive
  it from the URL"); further columns are ignored, so a failure file written by a fetch job
  (``url<TAB>key<TAB>code<TAB>error``: a numeric third column is not a hash) is a valid input.

Blank lines and lines whose first non-blank character is ``#`` are skipped. Only the line
ending is stripped from a key: spaces are legal in Kodo keys. Every problem is reported with
``file:line`` so it can be fixed in an editor; all problems of a file are collected before
raising, like the manifest loader does.

Files are streamed, never read whole: a million-line keys file is planned a line at a time
(the plan itself streams into the checkpoint). The parsers are generators that yield good
lines until the first problem, then keep reading only to collect every problem, and raise
:class:`InputFileError` at the end; the planner that consumes them stores nothing of a plan
that raised. Lines are split on ``\n`` only and decoded one by one, so invalid UTF-8 is
reported with its line and column, and a line longer than :data:`MAX_LINE_BYTES` is an error
instead of a read of unbounded size. A UTF-8 byte-order mark at the start of the file is
dropped (Windows editors write one; it is never part of a key).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

from kodo_jobs.errors import EXIT_INVALID, JobInputError
from kodo_jobs.naming import MAX_KEY_BYTES

MAX_LINE_BYTES = 64 * 1024
"""Longest line read from an input file: a key is at most 750 bytes, a URL line a few KiB."""
_MAX_REPORTED = 20
_READ_CHUNK = 1 << 16


class InputFileError(JobInputError):
    """A keys or URL file has malformed lines (exit 2); the message lists them by line."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:_MAX_REPORTED]
        more = len(problems) - len(shown)
        text = "\n".join(shown) + (f"\n... and {more} more" if more > 0 else "")
        super().__init__(text)
        self.problems = problems


@dataclass(frozen=True, slots=True)
class KeyLine:
    """One usable line of a keys file: its 1-based line number, the key and, in pair mode, the destination."""

    line: int
    key: str
    dest: str | None = None


@dataclass(frozen=True, slots=True)
class UrlLine:
    """One usable line of a URL file: the source URL and the key to store it under."""

    line: int
    url: str
    key: str
    hash: str | None = None  # expected etag or md5 (third column), for skip_existing: etag|md5


Numbered = tuple[int, str | None, str | None]
"""(1-based line number, text without its line ending or None, problem or None)."""


def _numbered(lines: Iterable[str]) -> Iterator[Numbered]:
    for number, raw in enumerate(lines, start=1):
        yield number, raw, None


def file_lines(path: Path) -> Iterator[Numbered]:
    """The lines of ``path``, read lazily in binary, split on ``\\n`` and decoded one by one.

    A missing or unreadable file raises :class:`InputFileError` when iteration starts.
    """
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise InputFileError([f"{path}: file not found"]) from None
    except IsADirectoryError:
        raise InputFileError([f"{path}: is a folder, not a file"]) from None
    except OSError as exc:
        raise InputFileError([f"{path}: cannot read: {exc.strerror}"]) from None
    with f:
        number = 0
        while True:
            try:
                raw = f.readline(MAX_LINE_BYTES + 1)
            except OSError as exc:
                raise InputFileError([f"{path}:{number + 1}: cannot read: {exc.strerror}"]) from None
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                _skip_rest_of_line(f)
                yield number, None, f"line longer than {MAX_LINE_BYTES} bytes"
                continue
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                yield number, raw.decode("utf-8"), None
            except UnicodeDecodeError as exc:
                yield number, None, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"


def _skip_rest_of_line(f: IO[bytes]) -> None:
    while True:
        chunk = f.readline(_READ_CHUNK)
        if not chunk or chunk.endswith(b"\n"):
            return


def _content_lines(lines: Iterable[Numbered], source: str, problems: list[str]) -> Iterator[tuple[int, str]]:
    """(line number, text without line ending) of lines that are neither blank nor comments.

    Unreadable lines are added to ``problems`` (located) and skipped.
    """
    for number, raw, problem in lines:
        if raw is None:
            problems.append(f"{source}:{number}: {problem}")
            continue
        text = raw.rstrip("\r\n")
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        yield number, text


def _key_problem(key: str) -> str | None:
    if not key:
        return "empty key"
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        return f"key longer than {MAX_KEY_BYTES} bytes"
    return None


def iter_keys(lines: Iterable[Numbered], *, pairs: bool, source: str) -> Iterator[KeyLine]:
    """Stream a keys file's lines; raise :class:`InputFileError` listing every bad line at the end.

    ``source`` names the file in messages. In pair mode each line must be ``src<TAB>dst``;
    otherwise a non-empty second column becomes :attr:`KeyLine.dest`. Nothing is yielded after
    the first problem (the rest is only read to report every problem at once).
    """
    problems: list[str] = []
    for number, text in _content_lines(lines, source, problems):
        columns = text.split("\t")
        where = f"{source}:{number}"
        if pairs:
            if len(columns) < 2:
                problems.append(f"{where}: expected 'src<TAB>dst', found no tab")
                continue
            if len(columns) > 2:
                problems.append(f"{where}: expected 'src<TAB>dst', found {len(columns)} columns")
                continue
            src, dst = columns
            bad = _key_problem(src) or _key_problem(dst)
            if bad:
                problems.append(f"{where}: {bad}")
                continue
            if not problems:
                yield KeyLine(number, src, dst)
        else:
            key = columns[0]
            bad = _key_problem(key)
            if bad:
                problems.append(f"{where}: {bad}")
                continue
            if not problems:
                yield KeyLine(number, key, columns[1] if len(columns) > 1 and columns[1] else None)
    if problems:
        raise InputFileError(problems)


def parse_keys(lines: Iterable[str], *, pairs: bool, source: str) -> list[KeyLine]:
    """Parse a keys file's lines (already in memory); raise :class:`InputFileError` listing every bad line."""
    return list(iter_keys(_numbered(lines), pairs=pairs, source=source))


def read_keys_file(path: Path, *, pairs: bool) -> Iterator[KeyLine]:
    """Stream and parse a keys file (UTF-8); a missing file is a located input error too."""
    return iter_keys(file_lines(path), pairs=pairs, source=str(path))


def key_from_url(url: str) -> str:
    """The default object key of a fetched URL: its path without the leading ``/``, unquoted.

    This is what qshell does for ``batchfetch`` lines without a key.
    """
    return unquote(urlsplit(url).path).lstrip("/")


def iter_urls(lines: Iterable[Numbered], *, source: str, key_prefix: str = "") -> Iterator[UrlLine]:
    """Stream a URL file's lines (``url`` or ``url<TAB>key[<TAB>...]``); bad lines raise together at the end.

    ``key_prefix`` is put before keys derived from URLs (not before explicit keys).
    """
    problems: list[str] = []
    for number, text in _content_lines(lines, source, problems):
        columns = text.split("\t")
        url = columns[0].strip()
        where = f"{source}:{number}"
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"{where}: not an http(s) URL: {url!r}")
            continue
        key = columns[1] if len(columns) > 1 and columns[1] else key_prefix + key_from_url(url)
        bad = _key_problem(key)
        if bad:
            hint = " (give one as 'url<TAB>key')" if len(columns) < 2 else ""
            problems.append(f"{where}: {bad}{hint}")
            continue
        third = columns[2].strip() if len(columns) > 2 else ""
        # a numeric third column is the code of a failure file line, not a hash
        if not problems:
            yield UrlLine(number, url, key, third if third and not third.isdigit() else None)
    if problems:
        raise InputFileError(problems)


def parse_urls(lines: Iterable[str], *, source: str, key_prefix: str = "") -> list[UrlLine]:
    """Parse a URL file's lines (already in memory); bad lines raise together."""
    return list(iter_urls(_numbered(lines), source=source, key_prefix=key_prefix))


def read_urls_file(path: Path, *, key_prefix: str = "") -> Iterator[UrlLine]:
    """Stream and parse a URL file (UTF-8)."""
    return iter_urls(file_lines(path), source=str(path), key_prefix=key_prefix)
