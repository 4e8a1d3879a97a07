"""``run --shard I/N``: split one job's actions between N independent runs.

The assignment is a pure function of the object key (``crc32(UTF-8 key) mod N``, see
:func:`kodo_jobs.engine.in_shard`), so every machine computes the same split without talking
to the others, deletes included, and N shards together do exactly the work of one run with no
key done twice. Each shard keeps its own state file and lock (``<state>.shard-I-of-N``): shards
never wait for each other's lock and a shard's resume only sees its own history. Re-sharding
(another N) starts fresh state files; the listing then shows finished work as ``same``.
"""

from __future__ import annotations

from pathlib import Path


def shard_state_path(state: Path, shard: tuple[int, int] | None) -> Path:
    """``media.kjstate`` -> ``media.kjstate.shard-2-of-4`` for shard (2, 4); unchanged without a shard."""
    if shard is None:
        return state
    i, n = shard
    return state.with_name(f"{state.name}.shard-{i}-of-{n}")


__all__ = ["shard_state_path"]
