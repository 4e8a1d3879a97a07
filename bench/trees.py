"""Build the local test trees once per work folder, deterministically.

Trees are reused across rounds and runs (a ``.complete`` marker records the parameters) because
writing 200,000 files is itself slow. Keys are the tree-relative POSIX paths, so the SDK
baseline and kodo-jobs (prefix "") upload the same keys and one listing verifies both.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

KiB = 1024
MiB = 1024 * KiB


@dataclass(frozen=True, slots=True)
class Tree:
    """A built tree: its root, relative keys (sorted) and total size."""

    root: Path
    keys: tuple[str, ...]
    total_bytes: int


def _marker(root: Path) -> Path:
    """Beside the tree, not in it: a sync of the tree must not upload it."""
    return root.with_name(root.name + ".complete")


def _marker_ok(root: Path, params: dict[str, object]) -> bool:
    marker = _marker(root)
    try:
        return bool(json.loads(marker.read_text()) == params)
    except (OSError, ValueError):
        return False


def _key(i: int, per_dir: int) -> str:
    return f"d{i // per_dir:05d}/f{i:07d}.bin"


def small_files(root: Path, count: int, min_size: int, max_size: int, *, seed: int,
                per_dir: int = 100) -> Tree:
    """``count`` files with sizes uniform in [min_size, max_size], ``per_dir`` per folder."""
    params: dict[str, object] = {"kind": "small", "count": count, "min": min_size, "max": max_size,
                                 "seed": seed, "per_dir": per_dir}
    rng = random.Random(seed)
    sizes = [rng.randint(min_size, max_size) for _ in range(count)]
    keys = tuple(_key(i, per_dir) for i in range(count))
    if not _marker_ok(root, params):
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        pool = rng.randbytes(max_size + 4096)
        for i, key in enumerate(keys):
            path = root / key
            if i % per_dir == 0:
                path.parent.mkdir(parents=True, exist_ok=True)
            start = (i * 7919) % 4096
            # a unique header per file so no two objects share an etag
            path.write_bytes(i.to_bytes(8, "big") + pool[start:start + sizes[i] - 8])
        _marker(root).write_text(json.dumps(params))
    return Tree(root=root, keys=keys, total_bytes=sum(sizes))


def large_file(root: Path, size: int, *, seed: int, name: str = "large.bin") -> Tree:
    """One file of ``size`` bytes made of distinct 4 MiB blocks."""
    params: dict[str, object] = {"kind": "large", "size": size, "seed": seed, "name": name}
    if not _marker_ok(root, params):
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        block = bytearray(random.Random(seed).randbytes(4 * MiB))
        with (root / name).open("wb") as fh:
            written = 0
            index = 0
            while written < size:
                block[:8] = index.to_bytes(8, "big")
                chunk = memoryview(block)[: min(len(block), size - written)]
                fh.write(chunk)
                written += len(chunk)
                index += 1
        _marker(root).write_text(json.dumps(params))
    return Tree(root=root, keys=(name,), total_bytes=size)


def tiny_key(i: int, per_top: int, per_dir: int) -> str:
    """Key of file ``i`` in a :func:`tiny_files` tree: ``aTT/sSSS/fNNNNNNN.bin``."""
    return f"a{i // per_top:02d}/s{(i % per_top) // per_dir:04d}/f{i:07d}.bin"


def tiny_files(root: Path, count: int, *, per_top: int = 50_000, per_dir: int = 100) -> Tree:
    """``count`` one-byte files for the planning-at-scale scenarios (``plan-500k``, ``noop-1m``,
    ``plan-include``): top folders ``a00``, ``a01``, ... of ``per_top`` files each, split into
    leaf folders of ``per_dir`` files. ``include: ["a00*/**", "a01*/**"]`` therefore selects
    ``2 * per_top`` files and leaves every other top folder unvisited when filters prune.

    Every file holds the byte ``b"x"`` (one etag for all: the scenarios plan, they do not
    upload). Written with ``os.open``/``os.write`` (no ``Path`` objects per file): creation
    time is documented in docs/bench.md. ``keys`` is not materialised (a million strings); use
    :func:`tiny_key`.
    """
    import os

    params: dict[str, object] = {"kind": "tiny", "count": count, "per_top": per_top, "per_dir": per_dir}
    if not _marker_ok(root, params):
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        base = str(root)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        for i in range(count):
            rel = tiny_key(i, per_top, per_dir)
            if i % per_dir == 0:
                os.makedirs(os.path.join(base, rel.rpartition("/")[0]), exist_ok=True)
            fd = os.open(os.path.join(base, rel), flags, 0o644)
            os.write(fd, b"x")
            os.close(fd)
        _marker(root).write_text(json.dumps(params))
    return Tree(root=root, keys=(), total_bytes=count)
