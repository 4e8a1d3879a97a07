"""``select:``: which objects of a bucket listing a batch or pfop job works on.

Pure: :class:`SelectFilter` decides on one listed entry at a time, so a selection over a
million-object listing streams. The listing itself is asked only for ``prefix`` (rsf filters
server-side); every other criterion is applied here. All given criteria must hold (AND); a
list inside one criterion (several suffixes, globs or MIME patterns) matches if any item does.

* ``suffix``: the key ends with one of them (``.mp4``);
* ``glob``: over the whole key; ``*`` and ``?`` stay within one path segment, ``**`` crosses
  ``/`` (``logs/**/*.gz``), ``[abc]`` is a character class;
* ``older_than`` / ``newer_than``: by the object's put time compared with the planning time;
* ``min_size`` / ``max_size``: inclusive byte bounds;
* ``storage``: storage classes by name or number (standard 0, ia 1, archive 2, deep_archive 3,
  archive_ir 4, intelligent_tiering 5);
* ``mime``: ``fnmatch`` patterns over the MIME type (``image/*``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Protocol

from kodo_jobs import units

if TYPE_CHECKING:
    from kodo_jobs.manifest.spec_common import Select

STORAGE_CLASSES: dict[str, int] = {
    "standard": 0,
    "ia": 1,
    "line": 1,
    "infrequent": 1,
    "archive": 2,
    "deep_archive": 3,
    "archive_ir": 4,
    "intelligent_tiering": 5,
}



class Listed(Protocol):
    """What a filter reads from a listing entry (the client's ``ListEntry`` has these)."""

    @property
    def key(self) -> str: ...
    @property
    def fsize(self) -> int: ...
    @property
    def mime_type(self) -> str: ...
    @property
    def put_time_100ns(self) -> int: ...  # 100-ns units since the epoch, as Kodo sends it
    @property
    def type(self) -> int: ...


def parse_duration(value: object) -> timedelta:
    """A duration (``30d``, ``12h``, ``1h30m``, seconds, or a timedelta): the manifest's one parser."""
    if isinstance(value, timedelta):
        return value
    return timedelta(seconds=units.parse_duration(value))


def storage_class(value: object) -> int:
    """A storage class number from its name or number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    if text not in STORAGE_CLASSES:
        raise ValueError(f"unknown storage class {value!r}; one of {', '.join(sorted(STORAGE_CLASSES))}")
    return STORAGE_CLASSES[text]


def _tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable):
        raise TypeError(f"expected text or a list of text, got {type(value).__name__}")
    return tuple(str(v) for v in value)


@dataclass(frozen=True, slots=True)
class SelectFilter:
    """The criteria of one ``select:``; ``now_ns`` fixes "now" so a plan is reproducible."""

    prefix: str = ""
    suffixes: tuple[str, ...] = ()
    globs: tuple[str, ...] = ()
    older_than: timedelta | None = None
    newer_than: timedelta | None = None
    min_size: int | None = None
    max_size: int | None = None
    storage: frozenset[int] | None = None
    mimes: tuple[str, ...] = ()
    now_ns: int = 0
    _glob_res: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_glob_res", tuple(glob_regex(g) for g in self.globs))

    @property
    def prefix_only(self) -> bool:
        """True when ``prefix`` is the only criterion: every entry of a listing asked for that
        prefix matches, so a caller can skip :meth:`matches` per entry."""
        return not (self.suffixes or self.globs or self.mimes) and self.older_than is None \
            and self.newer_than is None and self.min_size is None and self.max_size is None \
            and self.storage is None

    def matches(self, entry: Listed) -> bool:
        """True when ``entry`` meets every criterion."""
        key = entry.key
        if not key.startswith(self.prefix):
            return False
        if self.suffixes and not key.endswith(self.suffixes):
            return False
        if self._glob_res and not any(r.fullmatch(key) for r in self._glob_res):
            return False
        if self.min_size is not None and entry.fsize < self.min_size:
            return False
        if self.max_size is not None and entry.fsize > self.max_size:
            return False
        if self.storage is not None and entry.type not in self.storage:
            return False
        if self.mimes and not any(fnmatchcase(entry.mime_type or "", m) for m in self.mimes):
            return False
        age_ns = self.now_ns - entry.put_time_100ns * 100
        if self.older_than is not None and age_ns < _ns(self.older_than):
            return False
        return not (self.newer_than is not None and age_ns > _ns(self.newer_than))

    def apply(self, entries: Iterable[Listed]) -> Iterator[Listed]:
        """Lazily keep the matching entries of a listing."""
        return (e for e in entries if self.matches(e))


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a key glob: ``**`` any characters, ``*``/``?`` any within one segment, ``[..]`` a class."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")  # zero or more whole segments: "a/**/b" matches "a/b"
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end < 0:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def _ns(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1_000_000_000)


def _field(fields: Mapping[str, object], *names: str) -> object:
    """First present, non-None item among ``names``: tolerates aliases."""
    for name in names:
        value = fields.get(name)
        if value is not None:
            return value
    return None


def from_spec(select: Select | Mapping[str, object], *, now_ns: int | None = None) -> SelectFilter:
    """Build a filter from a manifest ``select:`` (model or mapping); raises ValueError when malformed."""
    spec: Mapping[str, object] = select if isinstance(select, Mapping) else dict(select)  # a model: its fields
    older = _field(spec, "older_than")
    newer = _field(spec, "newer_than")
    storage = _field(spec, "storage_type", "storage", "storage_class")
    if storage is not None and not isinstance(storage, list | tuple | set | frozenset):
        storage = (storage,)
    return SelectFilter(
        prefix=str(_field(spec, "prefix") or ""),
        suffixes=_tuple(_field(spec, "suffix", "suffixes")),
        globs=_tuple(_field(spec, "glob", "globs")),
        older_than=parse_duration(older) if older is not None else None,
        newer_than=parse_duration(newer) if newer is not None else None,
        min_size=_size(_field(spec, "min_size")),
        max_size=_size(_field(spec, "max_size")),
        storage=frozenset(storage_class(s) for s in storage) if storage is not None else None,
        mimes=_tuple(_field(spec, "mime", "mimes")),
        now_ns=time.time_ns() if now_ns is None else now_ns,
    )


def _size(value: object) -> int | None:
    """Bytes from an int or ``10MiB``/``10MB``: the manifest's one size parser."""
    if value is None:
        return None
    return units.parse_size(value)
