"""``run --shard I/N``: split one job's actions between N independent runs.

The assignment is a pure function of the object key (``crc32(UTF-8 key) mod N``, see
:func:`in_shard`), so every machine computes the same split without talking
to the others, deletes included, and N shards together do exactly the work of one run with no
key done twice. Each shard keeps its own state file and lock (``<state>.shard-I-of-N``): shards
never wait for each other's lock and a shard's resume only sees its own history. Re-sharding
(another N) starts fresh state files; the listing then shows finished work as ``same``.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from kodo_jobs.errors import UsageError


def shard_state_path(state: Path, shard: tuple[int, int] | None) -> Path:
    """``media.kjstate`` -> ``media.kjstate.shard-2-of-4`` for shard (2, 4); unchanged without a shard."""
    if shard is None:
        return state
    i, n = shard
    return state.with_name(f"{state.name}.shard-{i}-of-{n}")



def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/4"`` -> ``(2, 4)``; UsageError on anything else.

    Shards count from 0 (``0/4`` .. ``3/4``), like a Kubernetes Indexed Job's
    ``JOB_COMPLETION_INDEX``, so the index can be passed through unchanged.
    """
    if text is None:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        i, n = -1, 0
    if not (n >= 1 and 0 <= i < n):
        raise UsageError(f"--shard {text!r}: use I/N with 0 <= I < N (shards count from 0), e.g. --shard 0/4")
    return i, n


def in_shard(key: str, shard: tuple[int, int]) -> bool:
    """Whether ``key`` belongs to shard ``(i, n)``: a stable hash, the same on every machine."""
    i, n = shard
    return zlib.crc32(key.encode("utf-8")) % n == i
