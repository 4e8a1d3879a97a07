"""gitignore-style include/exclude patterns for the sync job (pure, no I/O).

Patterns match the path *relative to the sync root* (for a remote key: the key without the
job's ``prefix``), always with ``/`` separators:

* ``*`` matches anything but ``/``; ``?`` one character but ``/``; ``[abc]``, ``[a-z]``,
  ``[!a-z]`` a character class;
* ``**`` matches across directories: ``**/x`` (x at any depth), ``a/**`` (everything inside
  ``a``), ``a/**/b`` (zero or more directories between);
* a pattern without a ``/`` (other than a trailing one) matches a name at any depth
  (``*.tmp``, ``.DS_Store``); a pattern with a ``/`` in it, or a leading ``/``, is anchored to
  the root (``/build``, ``docs/*.md``);
* a trailing ``/`` matches directories only (``cache/``);
* a leading ``!`` negates: within one list the last matching pattern decides.

Semantics, as in git: a path is **excluded** when any of its parent directories, or the path
itself, is excluded (an excluded directory cannot have files re-included, which is what lets
the walker skip it without looking inside). When include patterns are given, a path is
**included** when the deepest of its levels (parents, then itself) that some include pattern
decides says so; without include patterns everything is included. The same function judges
local files and remote keys, so a file hidden by a filter is never deleted from the bucket.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


class PatternError(ValueError):
    """A pattern cannot be compiled (for example an unclosed ``[``)."""


@dataclass(frozen=True, slots=True)
class _Pattern:
    text: str
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool


def _translate_segment(segment: str, pattern: str) -> str:
    """Regex for one glob run without ``**`` (``*``, ``?``, classes and literals)."""
    out: list[str] = []
    i = 0
    while i < len(segment):
        ch = segment[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = i + 1
            if end < len(segment) and segment[end] in "!^":
                end += 1
            if end < len(segment) and segment[end] == "]":
                end += 1
            while end < len(segment) and segment[end] != "]":
                end += 1
            if end >= len(segment):
                raise PatternError(f"unclosed '[' in pattern {pattern!r}")
            body = segment[i + 1 : end]
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            body = body.replace("\\", "\\\\")
            out.append(("[^/" if negate else "[") + body + "]")
            i = end
        elif ch == "\\" and i + 1 < len(segment):
            i += 1
            out.append(re.escape(segment[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _compile(raw: str) -> _Pattern:
    text = raw
    negated = text.startswith("!")
    if negated:
        text = text[1:]
    dir_only = text.endswith("/")
    text = text.rstrip("/")
    if not text:
        raise PatternError(f"empty pattern {raw!r}")
    anchored = "/" in text  # a leading or middle slash anchors it, as in gitignore
    text = text.lstrip("/")
    parts = text.split("/")
    regex_parts: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            # "**/" = zero or more directories; a final "/**" = everything below
            regex_parts.append(".*" if last else "(?:[^/]+/)*")
            continue
        if "**" in part:  # e.g. "a**b": behaves like "*" across "/" per gitignore's fallback
            piece = ".*".join(_translate_segment(p, raw) for p in part.split("**"))
        else:
            piece = _translate_segment(part, raw)
        regex_parts.append(piece if last else piece + "/")
    body = "".join(regex_parts)
    if body.endswith("/.*"):
        body = body[:-3] + "/.+"  # "a/**" matches what is inside a, not a itself
    prefix = "" if anchored else "(?:[^/]+/)*"
    return _Pattern(raw, re.compile(prefix + body + r"\Z", re.DOTALL), negated, dir_only)


def _decide(patterns: Sequence[_Pattern], path: str, is_dir: bool) -> bool | None:
    """True (matched), False (matched by a negation), None (no pattern matched): last one wins."""
    for pattern in reversed(patterns):
        if pattern.dir_only and not is_dir:
            continue
        if pattern.regex.match(path):
            return not pattern.negated
    return None


class PathFilter:
    """Compiled include and exclude lists; ``selects(rel_path)`` says whether a file takes part."""

    __slots__ = ("_exclude", "_include")

    def __init__(self, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> None:
        self._include = tuple(_compile(p) for p in include)
        self._exclude = tuple(_compile(p) for p in exclude)

    @property
    def is_empty(self) -> bool:
        """No patterns at all: every path is selected."""
        return not self._include and not self._exclude

    def dir_excluded(self, rel_dir: str) -> bool:
        """Whether the walker can skip this directory (its parents were already checked)."""
        return bool(self._exclude) and _decide(self._exclude, rel_dir, True) is True

    def file_selected_in_walk(self, rel_path: str) -> bool:
        """The verdict for a file whose parent directories the walker has already admitted."""
        if self._exclude and _decide(self._exclude, rel_path, False) is True:
            return False
        if not self._include:
            return True
        return self._included(rel_path)

    def selects(self, rel_path: str) -> bool:
        """Full check of a file path (used for remote keys): parents, then the path itself."""
        if self.is_empty:
            return True
        parents = _parents(rel_path)
        if self._exclude:
            for parent in parents:
                if _decide(self._exclude, parent, True) is True:
                    return False
        return self.file_selected_in_walk(rel_path)

    def _included(self, rel_path: str) -> bool:
        decision = _decide(self._include, rel_path, False)
        if decision is not None:
            return decision
        for parent in reversed(_parents(rel_path)):
            decision = _decide(self._include, parent, True)
            if decision is not None:
                return decision
        return False


def _parents(rel_path: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b"]`` (shallowest first)."""
    parts = rel_path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
