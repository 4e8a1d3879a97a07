"""gitignore include/exclude patterns for the sync job, exactly as git reads them (pure, no I/O).

Patterns match the path *relative to the sync root* (for a remote key: the key without the
job's ``prefix``), always with ``/`` separators, in git's ``.gitignore`` syntax, and the
verdicts are those of ``git check-ignore`` (tested against git itself on generated patterns,
tests/jobs/sync/test_filters_git.py):

* a pattern without a ``/`` (other than a trailing one) matches a name at any depth
  (``*.tmp``); a leading or middle ``/`` anchors it to the root (``/build``, ``docs/*.md``);
* ``*``, ``?`` and classes (``[a-z]``, ``[!a]``) never match ``/``; ``**`` is special only as a
  whole segment (``**/x``, ``a/**``, ``a/**/b``); elsewhere (``a**b``) it is a plain ``*``;
  a class holding ``/`` (``x[/]y``) or an unclosed ``[`` never matches, as in git; a reversed
  range (``[z-a]``) is refused (git matches its first character only, by accident);
* a trailing ``/`` matches directories only; a leading ``!`` negates; the last matching
  pattern decides.

**exclude**: a path is excluded when one of its parent directories is excluded or, failing
that, when the last pattern matching the path itself is not a negation. Git never re-includes
a file below an excluded directory (``secret/`` then ``!secret/ok`` leaves ``secret/ok``
excluded), which is what lets the walker skip an excluded directory without looking inside
(:meth:`PathFilter.dir_pruned`).

**include** (the same rules, read the other way round): a file is *selected* when git would
ignore it under a ``.gitignore`` holding the include list: ``images/`` selects every file
below ``images``, ``*.jpg`` every ``.jpg`` at any depth. Without include patterns everything
is selected; exclude beats include (to leave ``images/raw`` out, exclude it). The walker does
not enter a directory below which no include pattern can match (``images/`` anchored as
``/images/`` or ``images/**`` never opens ``video/``); a pattern without ``/`` can match at any
depth and so prunes nothing.

A list may not hold an empty pattern, a lone ``!`` or a ``#`` comment (in a manifest those are
mistakes: write ``\\#name`` for a name starting with ``#``).

Matching one path segment against one glob is the ``pathspec`` library's git wildmatch
translation. Its whole-path matcher (``pathspec.GitIgnoreSpec``) is not used: it lets a
pattern match a path *through an ancestor* and so differs from git where it matters here (it
re-includes ``secret/ok`` above; with ``a*/b`` then ``!a`` it re-includes ``a/b/x`` because
``!a`` matches ``a/b`` as a descendant; ``a/**/`` matches ``a`` itself). Each level is judged
on its own instead, as git's directory walk does.

Cost: the verdict of a directory is computed once and remembered (directories are few next to
files), so judging a remote key costs one pattern pass for the key itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


class PatternError(ValueError):
    """A pattern cannot be used (empty, a comment, or not compilable)."""


_STAR_STAR = None
"""A ``**`` segment in :attr:`_Rule.segments`."""


@dataclass(frozen=True, slots=True)
class _Rule:
    """One compiled pattern.

    ``whole``: regex text over the whole path (a pattern without ``/`` matches the last segment
    at any depth). It is exact unless the pattern has a character class: a negated class
    (``[!a]``) could match the ``/`` between two segments, so such a hit is confirmed segment by
    segment (``basename`` for a pattern without ``/``, else ``segments``; ``None`` = ``**``).
    """

    text: str
    negated: bool
    dir_only: bool
    whole: str
    has_class: bool
    basename: re.Pattern[str] | None
    segments: tuple[re.Pattern[str] | None, ...]

    def confirm(self, rel: str) -> bool:
        """Segment-by-segment check of a ``whole`` hit (patterns with a class only)."""
        if self.basename is not None:
            return self.basename.fullmatch(rel.rpartition("/")[2]) is not None
        return _segments_match(self.segments, 0, rel.split("/"), 0)


def _whole(segments: Sequence[str]) -> str:
    """The regex over a whole path of the translated ``segments`` (``"**"`` kept as is)."""
    out = ""
    last = len(segments) - 1
    for i, seg in enumerate(segments):
        if seg == "**":
            # whole segments only ([^/]+/ cannot backtrack into a segment, .+/ would)
            out += (".+" if i == 0 else "/.+") if i == last else ("(?:[^/]+/)*" if i == 0 else "/(?:[^/]+/)*")
        else:
            out += ("" if i == 0 or out.endswith("/)*") else "/") + seg
    return out


def _translate(segment: str) -> str:
    """One segment's glob as regex text (pathspec's git wildmatch translation); raises
    GitIgnorePatternError for what git discards (an unclosed ``[``). pathspec is imported here,
    on the first pattern, not with the module: start-up that a job without filters skips
    (figures: docs/bench.md)."""
    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

    return GitIgnoreSpecPattern._translate_segment_glob(segment, "raise")


def _regex(text: str, raw: str) -> re.Pattern[str]:
    try:
        return re.compile(text, re.DOTALL)
    except re.error as exc:  # a reversed range [z-a]: git's reading of it is an accident, refuse it
        raise PatternError(f"bad pattern {raw!r}: {exc}") from exc


def _has_class(glob: str) -> bool:
    return "[" in glob.replace("\\[", "")


def _compile(raw: str) -> _Rule | None:
    """The rule of one pattern; None for one git accepts but that never matches (an unclosed
    ``[``, a class holding ``/``)."""
    text = raw if raw.endswith("\\ ") else raw.rstrip(" ")  # git drops unescaped trailing spaces
    negated = text.startswith("!")
    if negated:
        text = text[1:]
    if not text.strip("/"):
        raise PatternError(f"empty pattern {raw!r}")
    if raw.startswith("#"):
        raise PatternError(f"{raw!r} is a comment in .gitignore syntax; write '\\{raw}' to match a name "
                           "starting with '#'")
    dir_only = text.endswith("/")
    text = text.rstrip("/")
    from pathspec.patterns.gitignore import GitIgnorePatternError

    try:
        if "/" not in text:
            glob = _translate(text)
            return _Rule(raw, negated, dir_only, "(?:[^/]*/)*(?:" + glob + ")", _has_class(text), _regex(glob, raw), ())
        globs: list[str] = []
        for g in text.lstrip("/").split("/"):
            if not (g == "**" and globs and globs[-1] == "**"):  # "**/**" is "**"
                globs.append(g)
        translated = ["**" if g == "**" else _translate(g) for g in globs]
    except GitIgnorePatternError:
        return None
    except ValueError as exc:  # a trailing lone backslash
        raise PatternError(f"bad pattern {raw!r}: {exc}") from exc
    segments = tuple(_STAR_STAR if t == "**" else _regex(t, raw) for t in translated)
    whole = _whole(translated)
    _regex(whole, raw)
    return _Rule(raw, negated, dir_only, whole, any(_has_class(g) for g in globs), None, segments)


def _segments_match(segs: tuple[re.Pattern[str] | None, ...], i: int, parts: list[str], j: int) -> bool:
    """Whether ``segs[i:]`` matches ``parts[j:]`` exactly (``**``: zero or more whole segments;
    a final ``**``: one or more, since ``a/**`` matches what is inside ``a``, not ``a``)."""
    while i < len(segs):
        seg = segs[i]
        if seg is None:
            if i == len(segs) - 1:
                return j < len(parts)
            return any(_segments_match(segs, i + 1, parts, k) for k in range(j, len(parts)))
        if j >= len(parts) or seg.fullmatch(parts[j]) is None:
            return False
        i += 1
        j += 1
    return j == len(parts)


def _may_match_below(segs: tuple[re.Pattern[str] | None, ...], parts: list[str]) -> bool:
    """Whether an anchored pattern's ``segs`` can match some path made of ``parts`` followed by
    one or more further segments (a path strictly below the directory ``parts``).

    Conservative where it cannot be exact: a ``**`` can swallow the rest of ``parts``, and any
    segment is assumed to match some name, so both answer True.
    """
    i = j = 0
    while j < len(parts):
        if i == len(segs):
            return False  # the pattern ends at an ancestor (or at the directory itself)
        seg = segs[i]
        if seg is None:
            return True
        if seg.fullmatch(parts[j]) is None:
            return False
        i += 1
        j += 1
    return i < len(segs)


class _LastMatch:
    """Rules (last pattern first) as one alternation: one C-level match finds the deciding one
    (each alternative is one group, so ``lastindex`` names the rule)."""

    __slots__ = ("_fullmatch", "_outcome", "_rules", "_singles")

    def __init__(self, rules: Sequence[_Rule]) -> None:
        self._rules = tuple(rules)
        self._fullmatch = (re.compile("|".join(f"({r.whole})" for r in rules), re.DOTALL).fullmatch
                           if rules else None)
        self._outcome = (None, *(None if r.has_class else not r.negated for r in rules))
        """Per group index: the verdict, or None when a class hit must be confirmed."""
        self._singles = tuple(re.compile(r.whole, re.DOTALL) for r in rules)

    def verdict(self, rel: str) -> bool:
        """True when the last pattern matching ``rel`` exists and is not a negation."""
        if self._fullmatch is None:
            return False
        m = self._fullmatch(rel)
        if m is None:
            return False
        index = m.lastindex or 0
        outcome = self._outcome[index]
        if outcome is not None:
            return outcome
        for i in range(index - 1, len(self._rules)):  # past the first hit only when a class matched "/"
            rule = self._rules[i]
            if (i == index - 1 or self._singles[i].fullmatch(rel)) and (not rule.has_class or rule.confirm(rel)):
                return not rule.negated
        return False


class _Patterns:
    """One pattern list: git's verdict per path level, and per path (parents first)."""

    __slots__ = ("_anchored", "_dirs", "_unanchored", "dir_level", "file_level")

    def __init__(self, patterns: Sequence[str]) -> None:
        rules = [r for r in reversed([_compile(p) for p in patterns]) if r is not None]
        positive = [r for r in rules if not r.negated]
        self._unanchored = any(r.basename is not None for r in positive)
        """A positive pattern without ``/`` matches at any depth: it can match below any directory."""
        self._anchored = tuple(r.segments for r in positive if r.basename is None)
        self.file_level = _LastMatch([r for r in rules if not r.dir_only]).verdict
        """Whether the last pattern matching exactly this file is a positive one (parents not looked at)."""
        self.dir_level = _LastMatch(rules).verdict
        """The same for a directory."""
        self._dirs: dict[str, bool] = {}
        """rel dir -> "it or one of its parents is matched" (remembered per directory)."""

    def dir_or_parent(self, rel_dir: str) -> bool:
        """Whether ``rel_dir`` or one of its parent directories is matched (git's walk)."""
        found = self._dirs.get(rel_dir)
        if found is None:
            parent, sep, _ = rel_dir.rpartition("/")
            found = (bool(sep) and self.dir_or_parent(parent)) or self.dir_level(rel_dir)
            self._dirs[rel_dir] = found
        return found

    def may_match_below(self, rel_dir: str) -> bool:
        """Whether a positive pattern could match some path strictly below ``rel_dir``.

        False means git's verdict for everything below is decided by ``rel_dir`` and its
        parents alone (a negation never makes a path match), so a walk looking for matches
        need not enter it.
        """
        if self._unanchored:
            return True
        parts = rel_dir.split("/")
        return any(_may_match_below(segs, parts) for segs in self._anchored)

    def path(self, rel_path: str) -> bool:
        """git's verdict for the file ``rel_path``: a parent directory matched, or the file itself."""
        if self.file_level(rel_path):
            return True
        parent, sep, _ = rel_path.rpartition("/")
        return bool(sep) and self.dir_or_parent(parent)


class PathFilter:
    """Compiled include and exclude lists; ``selects(rel_path)`` says whether a file takes part."""

    __slots__ = ("_exclude", "_exclude_file", "_include", "_include_path")

    def __init__(self, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> None:
        self._include = _Patterns(include) if include else None
        self._exclude = _Patterns(exclude) if exclude else None
        # bound methods, looked up once: these run once per file of a 100k-file walk
        self._exclude_file = self._exclude.file_level if self._exclude is not None else None
        self._include_path = self._include.path if self._include is not None else None

    @property
    def is_empty(self) -> bool:
        """No patterns at all: every path is selected."""
        return self._include is None and self._exclude is None

    def dir_excluded(self, rel_dir: str) -> bool:
        """Whether this directory is excluded (its parents were already admitted)."""
        return self._exclude is not None and self._exclude.dir_level(rel_dir)

    def dir_pruned(self, rel_dir: str) -> bool:
        """Whether the walker can skip this directory (its parents were already admitted): it is
        excluded, or it is not included and no include pattern can match anything below it
        (``include: ["a00*/**"]`` never enters ``b/``). Nothing below a pruned directory could
        be selected, so the walk's verdicts are those of a full walk; the files it holds are
        simply not seen (not counted as ``skip``), as for an excluded directory.
        """
        if self._exclude is not None and self._exclude.dir_level(rel_dir):
            return True
        include = self._include
        return include is not None and not include.dir_or_parent(rel_dir) and not include.may_match_below(rel_dir)

    def file_selected_in_walk(self, rel_path: str) -> bool:
        """The verdict for a file whose parent directories the walker has already admitted."""
        excluded = self._exclude_file
        if excluded is not None and excluded(rel_path):
            return False
        included = self._include_path
        return included is None or included(rel_path)

    def selects(self, rel_path: str) -> bool:
        """Full check of a file path (used for remote keys): parents, then the path itself."""
        if self._exclude is not None and self._exclude.path(rel_path):
            return False
        included = self._include_path
        return included is None or included(rel_path)
