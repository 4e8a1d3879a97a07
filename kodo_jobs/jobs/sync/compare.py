"""Decide whether a source entry must be transferred to its destination (pure, no I/O).

Direction-agnostic: ``source`` is where content comes from (the local file for an upload, the
object for a download) and ``dest`` where it goes. Both are described by :class:`Side`: size,
a modification time in nanoseconds (a file's ``mtime_ns``, an object's ``putTime`` * 100) and
the qetag when known.

Verdicts (a closed vocabulary, like rclone's sigils):

========== ===========================================================================
``missing`` only the source has the key: transfer it (an ``upload`` action)
``differ``  both have it and the compare mode says they differ (``update``)
``match``   both have it and the compare mode says they are equal (``same``)
``extra``   only the destination has it (``delete`` when the job mirrors, else nothing)
========== ===========================================================================

Compare modes (``compare:`` in the manifest):

``etag`` (default, exact)
    sizes differ -> differ without hashing; otherwise the qetags decide. The source etag must
    then be known: :func:`needs_etag` tells the planner when to look it up (hash cache) or
    compute it.
``size``
    sizes differ -> differ; equal sizes -> match (fast, blind to same-size edits).
``size-mtime``
    sizes differ -> differ; otherwise differ when the source was modified **after** the
    destination was written (source time > dest time), else match. For an upload that means:
    a local file edited after its object's put time is sent again. Clock skew between this
    machine and the server shifts the rule by the skew; use ``etag`` when that matters.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, NamedTuple

CompareMode = Literal["etag", "size", "size-mtime"]
COMPARE_MODES: tuple[CompareMode, ...] = ("etag", "size", "size-mtime")


class Verdict(StrEnum):
    """What one key needs; see the module docstring."""

    MISSING = "missing"
    DIFFER = "differ"
    MATCH = "match"
    EXTRA = "extra"


class Side(NamedTuple):
    """One side of a comparison: size in bytes, modification time in ns, qetag if known.

    A named tuple: the planner builds two per compared key, and a tuple is cheaper to build
    than a frozen dataclass (figures: docs/bench.md)."""

    size: int
    time_ns: int
    etag: str | None = None


class EtagRequired(ValueError):
    """``verdict`` was called in etag mode for equal sizes without both etags."""


def needs_etag(source: Side | None, dest: Side | None, mode: CompareMode) -> bool:
    """Whether the verdict depends on the source's etag (etag mode and equal sizes)."""
    return (
        mode == "etag"
        and source is not None
        and dest is not None
        and source.size == dest.size
        and source.etag is None
    )


def verdict(source: Side | None, dest: Side | None, mode: CompareMode) -> Verdict:
    """The verdict for one key; raise :class:`EtagRequired` when an etag is needed but missing."""
    if source is None and dest is None:
        raise ValueError("verdict() needs at least one side")
    if dest is None:
        return Verdict.MISSING
    if source is None:
        return Verdict.EXTRA
    if source.size != dest.size:
        return Verdict.DIFFER
    if mode == "size":
        return Verdict.MATCH
    if mode == "size-mtime":
        return Verdict.DIFFER if source.time_ns > dest.time_ns else Verdict.MATCH
    if mode == "etag":
        if source.etag is None or dest.etag is None:
            raise EtagRequired("etag compare needs both etags when the sizes are equal")
        return Verdict.MATCH if source.etag == dest.etag else Verdict.DIFFER
    raise ValueError(f"unknown compare mode {mode!r}; use one of {', '.join(COMPARE_MODES)}")
