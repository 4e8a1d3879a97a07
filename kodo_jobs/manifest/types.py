"""Value types of the manifest language: human sizes, durations, limits, storage classes.

Each type is an ``Annotated`` pydantic type with one plain validator, so a bad value gives
exactly one error that says what was expected (no pile of union-member errors), and a JSON
schema that editors can check (``string|integer`` with a pattern).

* ``Size``: ``4MiB``, ``10GB``, ``512KiB``, ``1.5GiB``; a bare integer is bytes -> ``int``.
* ``Duration``: ``30s``, ``5m``, ``2h``, ``30d``, ``1h30m``, ``250ms``; a bare number is
  seconds -> ``float``.
* ``Limit``: a count (``50``) or a percentage of the candidates (``"10%"``) -> ``int | Percent``.
* ``StorageClass``: ``0..4`` or a name (``standard``, ``ia``, ``archive``, ``deep_archive``,
  ``archive_ir``) -> ``int`` (Kodo's ``fileType``/``type`` number).

The size and duration parsers live in :mod:`kodo_jobs.units`, shared with the command line
(``run --max-duration``/``--max-bytes``), so both accept the same text with the same messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer, PlainValidator, ValidationInfo, WithJsonSchema

from kodo_jobs.units import DURATION_PATTERN, SIZE_PATTERN, kind_of
from kodo_jobs.units import parse_duration as parse_duration
from kodo_jobs.units import parse_positive_duration as parse_positive_duration
from kodo_jobs.units import parse_size as parse_size

PERCENT_PATTERN = r"^\s*\d+(\.\d+)?\s*%\s*$"

STORAGE_CLASSES: dict[str, int] = {
    "standard": 0, "ia": 1, "archive": 2, "deep_archive": 3, "archive_ir": 4,
}

_kind_of = kind_of


@dataclass(frozen=True, slots=True)
class Percent:
    """A share of the candidates, e.g. ``max_delete: "10%"``; :meth:`of` turns it into a count."""

    value: float

    def of(self, total: int) -> int:
        """How many of ``total`` this percentage allows (rounded down)."""
        return int(total * self.value / 100.0)

    def __str__(self) -> str:
        return f"{self.value:g}%"


def parse_limit(value: object) -> int | Percent:
    """Parse a count (``>= 0``) or a percentage string (``"10%"``, 0..100)."""
    if isinstance(value, Percent):
        return value
    if isinstance(value, bool):
        raise ValueError(f"must be a count or a percentage like \"10%\" (got {_kind_of(value)})")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"must be >= 0 (got {value})")
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.match(PERCENT_PATTERN, text):
            pct = float(text.rstrip("%").strip())
            if pct > 100:
                raise ValueError(f"a percentage must be <= 100% (got {value!r})")
            return Percent(pct)
        if text.isdigit():
            return int(text)
        if text.lstrip("-").isdigit():
            raise ValueError(f"must be >= 0 (got {text})")
    shown = repr(value) if isinstance(value, str) else _kind_of(value)
    raise ValueError(f"must be a count (>= 0) or a percentage like \"10%\" (got {shown})")


def resolve_limit(limit: int | Percent | None, total: int) -> int | None:
    """The absolute limit for ``total`` candidates (``None`` means unlimited)."""
    if limit is None:
        return None
    if isinstance(limit, Percent):
        return limit.of(total)
    return limit


def parse_storage_class(value: object) -> int:
    """Parse a storage class number (0..4) or name into Kodo's ``fileType`` number."""
    if isinstance(value, bool):
        raise ValueError(f"must be a storage class 0..4 or one of {', '.join(STORAGE_CLASSES)} (got {_kind_of(value)})")
    if isinstance(value, int) and 0 <= value <= 4:
        return value
    if isinstance(value, str):
        name = value.strip().lower().replace("-", "_")
        if name in STORAGE_CLASSES:
            return STORAGE_CLASSES[name]
        if name.isdigit() and 0 <= int(name) <= 4:
            return int(name)
    shown = repr(value) if isinstance(value, str | int) else _kind_of(value)
    raise ValueError(f"must be a storage class 0..4 or one of {', '.join(STORAGE_CLASSES)} (got {shown})")


def check_http_url(value: str) -> str:
    """Accept only absolute http(s) URLs with a host (kept exactly as written)."""
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or rest.startswith("/"):
        raise ValueError(f"must be an absolute http(s) URL (got {value!r})")
    return value


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Make a path absolute against the manifest's folder (``base_dir`` in the context)."""
    path = value.expanduser()
    if path.is_absolute():
        return path
    context: object = info.context
    base = context.get("base_dir") if isinstance(context, dict) else None
    return (Path(base) if base is not None else Path.cwd()) / path


Size = Annotated[
    int,
    PlainValidator(parse_size),
    WithJsonSchema({
        "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": SIZE_PATTERN}],
        "description": "A size: bytes as an integer, or 4MiB, 10GB, 512KiB ...",
    }),
]
"""Bytes; YAML accepts ``4MiB``, ``10GB``, ``512KiB`` or a bare integer."""

Duration = Annotated[
    float,
    PlainValidator(parse_duration),
    WithJsonSchema({
        "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": DURATION_PATTERN}],
        "description": "A duration: seconds as a number, or 30s, 5m, 2h, 30d, 1h30m ...",
    }),
]
"""Seconds; YAML accepts ``30s``, ``5m``, ``2h``, ``30d``, ``1h30m`` or a bare number."""

PositiveDuration = Annotated[
    float,
    PlainValidator(parse_positive_duration),
    WithJsonSchema({
        "anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": DURATION_PATTERN}],
        "description": "A duration longer than 0: seconds as a number, or 30s, 5m, 2h, 30d, 1h30m ...",
    }),
]
"""A :data:`Duration` that must be longer than 0 (time budgets such as ``max_duration``)."""

Limit = Annotated[
    int | Percent,
    PlainValidator(parse_limit),
    PlainSerializer(lambda v: str(v) if isinstance(v, Percent) else v),
    WithJsonSchema({
        "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": PERCENT_PATTERN}],
        "description": "A count (>= 0) or a percentage of the candidates such as \"10%\".",
    }),
]
"""A count or a :class:`Percent` of the candidates."""

StorageClass = Annotated[
    int,
    PlainValidator(parse_storage_class),
    WithJsonSchema({
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": 4},
            {"type": "string", "enum": list(STORAGE_CLASSES)},
        ],
        "description": "Storage class: 0 standard, 1 ia, 2 archive, 3 deep_archive, 4 archive_ir.",
    }),
]
"""Kodo storage class number (0 standard, 1 IA, 2 archive, 3 deep archive, 4 archive IR)."""

LocalPath = Annotated[Path, AfterValidator(_resolve_path)]
"""A local path; relative paths are resolved against the manifest's folder at load time."""

HttpUrlText = Annotated[str, AfterValidator(check_http_url)]
"""An absolute http(s) URL kept exactly as written (no normalisation, unlike ``AnyHttpUrl``)."""
