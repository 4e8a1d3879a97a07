"""The one parser of human sizes and durations, shared by the manifest and the command line.

``max_duration: 1h30m`` in a manifest and ``run --max-duration 1h30m`` must accept the same
text and refuse it with the same words, so both call these functions (the manifest's pydantic
types in :mod:`kodo_jobs.manifest.types` wrap them; the CLI calls them directly). This module
imports nothing heavier than :mod:`re`, so the CLI can use it without loading pydantic.

* size: ``4MiB``, ``10GB``, ``512KiB``, ``1.5GiB``; a bare integer is bytes.
* duration: ``30s``, ``5m``, ``2h``, ``30d``, ``1h30m``, ``250ms``; a bare number is seconds.
"""

from __future__ import annotations

import math
import re

SIZE_UNITS: dict[str, int] = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4, "pb": 1000**5,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4, "pib": 1024**5,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*([kKmMgGtTpP]i?[bB]|[bB])?\s*$"
"""The JSON-schema pattern of a size string (what :func:`parse_size` accepts)."""

DURATION_UNITS: dict[str, float] = {
    "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0,
}
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
DURATION_PATTERN = r"^\s*(\d+(\.\d+)?|(\d+(\.\d+)?(ms|s|m|h|d|w))+)\s*$"
"""The JSON-schema pattern of a duration string (what :func:`parse_duration` accepts)."""


def kind_of(value: object) -> str:
    """A short, secret-free description of a value's type for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def parse_size(value: object) -> int:
    """Parse a human size (``4MiB``, ``10GB``, bare int = bytes) into bytes; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"must be a size such as 4MiB, 10GB or a number of bytes (got {kind_of(value)})")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"must be >= 0 (got {value})")
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        if match is not None:
            unit = match.group(2).lower()
            if unit in SIZE_UNITS:
                return int(float(match.group(1)) * SIZE_UNITS[unit])
            raise ValueError(
                f"unknown size unit {match.group(2)!r} in {value!r} (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            )
        if value.strip().startswith("-"):
            raise ValueError(f"must be >= 0 (got {value!r})")
        raise ValueError(f"must be a size such as 4MiB, 10GB or 512KiB (got {value!r})")
    raise ValueError(f"must be a size such as 4MiB, 10GB or a number of bytes (got {kind_of(value)})")


def parse_duration(value: object) -> float:
    """Parse a human duration (``30s``, ``1h30m``, ``30d``, bare number = seconds) into seconds."""
    if isinstance(value, bool):
        raise ValueError(f"must be a duration such as 30s, 5m, 2h or 30d (got {kind_of(value)})")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"must be a finite duration (got {value})")
        if value < 0:
            raise ValueError(f"must be >= 0 (got {value})")
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            pass
        else:
            if not math.isfinite(seconds):
                raise ValueError(f"must be a finite duration (got {value!r})")
            if seconds < 0:
                raise ValueError(f"must be >= 0 (got {value!r})")
            return seconds
        if text.startswith("-"):
            raise ValueError(f"must be >= 0 (got {value!r})")
        parts = _DURATION_PART_RE.findall(text)
        if text and parts and "".join(n + u for n, u in parts) == text:
            return sum(float(n) * DURATION_UNITS[u] for n, u in parts)
        raise ValueError(f"must be a duration such as 30s, 5m, 2h, 30d or 1h30m (got {value!r})")
    raise ValueError(f"must be a duration such as 30s, 5m, 2h or 30d (got {kind_of(value)})")


def parse_positive_duration(value: object) -> float:
    """:func:`parse_duration`, refusing zero: a time budget of nothing is a mistake, not a request."""
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"must be longer than 0 (got {value!r})")
    return seconds


def human_bytes(n: int) -> str:
    """``1536`` -> ``1.5 KiB``: binary units, as the manifest's sizes are written."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
