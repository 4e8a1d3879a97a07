"""Pure part planning and resume arithmetic (no I/O), table-tested.

v1 cuts a file into 4 MiB blocks (fixed by the protocol); v2 into ``part_size`` parts
(1 MiB..1 GiB except the last, at most 10 000 parts: the size is raised when needed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MIB = 1024 * 1024
BLOCK_SIZE = 4 * MIB
MIN_PART = 1 * MIB
MAX_PART = 1024 * MIB
MAX_PARTS = 10_000


@dataclass(frozen=True, slots=True)
class Part:
    """A slice of the file: 1-based ``number``, byte ``offset`` and ``size``."""

    number: int
    offset: int
    size: int


def adjust_part_size(file_size: int, part_size: int) -> int:
    """``part_size`` within Kodo's bounds, doubled until the file fits in 10 000 parts."""
    if part_size <= 0:
        raise ValueError("part size must be positive")
    size = min(max(part_size, MIN_PART), MAX_PART)
    while size < MAX_PART and -(-file_size // size) > MAX_PARTS:
        size *= 2
    return min(size, MAX_PART)


def plan_parts(file_size: int, part_size: int) -> tuple[Part, ...]:
    """Cut ``file_size`` bytes into parts of ``part_size`` (the last may be shorter).

    An empty file is one empty part so the upload still has something to complete.
    """
    if file_size < 0 or part_size <= 0:
        raise ValueError("file size must be >= 0 and part size > 0")
    if file_size == 0:
        return (Part(1, 0, 0),)
    return tuple(Part(i + 1, off, min(part_size, file_size - off))
                 for i, off in enumerate(range(0, file_size, part_size)))


def missing_parts(plan: Iterable[Part], finished: Iterable[int]) -> tuple[Part, ...]:
    """The parts of ``plan`` whose numbers are not in ``finished``."""
    done = set(finished)
    return tuple(p for p in plan if p.number not in done)


def bytes_done(plan: Iterable[Part], finished: Iterable[int]) -> int:
    """Bytes already uploaded according to ``finished`` part numbers."""
    done = set(finished)
    return sum(p.size for p in plan if p.number in done)
