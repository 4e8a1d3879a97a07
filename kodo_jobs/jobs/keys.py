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
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kodo_jobs.errors import EXIT_INVALID, JobInputError

MAX_KEY_BYTES = 750  # Kodo's documented key length limit
_MAX_REPORTED = 20


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


def _content_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Yield (line number, text without line ending) for lines that are neither blank nor comments."""
    for number, raw in enumerate(lines, start=1):
        text = raw.rstrip("\r\n")
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        yield number, text


def _key_problem(key: str) -> str | None:
    if not key:
        return "empty key"
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        return f"key longer than {MAX_KEY_BYTES} bytes"
    return None


def parse_keys(lines: Iterable[str], *, pairs: bool, source: str) -> list[KeyLine]:
    """Parse a keys file's lines; raise :class:`InputFileError` listing every bad line.

    ``source`` names the file in messages. In pair mode each line must be ``src<TAB>dst``;
    otherwise a non-empty second column becomes :attr:`KeyLine.dest`.
    """
    result: list[KeyLine] = []
    problems: list[str] = []
    for number, text in _content_lines(lines):
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
            result.append(KeyLine(number, src, dst))
        else:
            key = columns[0]
            bad = _key_problem(key)
            if bad:
                problems.append(f"{where}: {bad}")
                continue
            dest = columns[1] if len(columns) > 1 and columns[1] else None
            result.append(KeyLine(number, key, dest))
    if problems:
        raise InputFileError(problems)
    return result


def read_keys_file(path: Path, *, pairs: bool) -> list[KeyLine]:
    """Read and parse a keys file (UTF-8); a missing file is a located input error too."""
    return parse_keys(_read_lines(path), pairs=pairs, source=str(path))


def key_from_url(url: str) -> str:
    """The default object key of a fetched URL: its path without the leading ``/``, unquoted.

    This is what qshell does for ``batchfetch`` lines without a key.
    """
    return unquote(urlsplit(url).path).lstrip("/")


def parse_urls(lines: Iterable[str], *, source: str, key_prefix: str = "") -> list[UrlLine]:
    """Parse a URL file's lines (``url`` or ``url<TAB>key[<TAB>...]``); bad lines raise together.

    ``key_prefix`` is put before keys derived from URLs (not before explicit keys).
    """
    result: list[UrlLine] = []
    problems: list[str] = []
    for number, text in _content_lines(lines):
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
        result.append(UrlLine(number, url, key, third if third and not third.isdigit() else None))
    if problems:
        raise InputFileError(problems)
    return result


def read_urls_file(path: Path, *, key_prefix: str = "") -> list[UrlLine]:
    """Read and parse a URL file (UTF-8)."""
    return parse_urls(_read_lines(path), source=str(path), key_prefix=key_prefix)


def _read_lines(path: Path) -> list[str]:
    try:
        # split on "\n" only: str.splitlines() would also cut at \x1c, \x85, \u2028..., legal in keys
        return path.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        raise InputFileError([f"{path}: file not found"]) from None
    except UnicodeDecodeError as exc:
        raise InputFileError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    except OSError as exc:
        raise InputFileError([f"{path}: cannot read: {exc.strerror}"]) from None
