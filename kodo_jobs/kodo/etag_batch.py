"""Etags of a batch of local files, each with a "held still" verdict: a hashing worker's task.

It sits next to :mod:`kodo_jobs.kodo.etag` so that a worker process of the sync planner's hashing
pool (whose ``forkserver`` preloads this module) imports hashing code only: with the package's
lazy ``__init__`` that is cheap, where importing the planner's modules delayed the first file
handed to a worker. Tasks and answers are plain tuples, which pickle cheaper than dataclasses
(figures: docs/bench.md).
"""

from __future__ import annotations

import os
import time

from .etag import etag_file, etag_file_v2

FileJob = tuple[str, int, int, int]
"""path, size and mtime_ns it is expected to have, part size (0: plain qetag, else a v2 etag)."""
FileDone = tuple[str | None, str | None, bool]
"""etag (None on failure), error text, and whether the file held still (see :func:`hash_file`)."""


def hash_file(path: str, size: int, mtime_ns: int, part_size: int, racy_ns: int) -> FileDone:
    """Hash one file. ``stable`` is true when after hashing it still has ``size`` and
    ``mtime_ns`` and that mtime is more than ``racy_ns`` old (a write within the file system's
    clock tick could otherwise leave the fingerprint unchanged): only then may a cache keep it."""
    try:
        etag = etag_file_v2(path, part_size) if part_size > 0 else etag_file(path)
        st = os.stat(path)
    except OSError as exc:
        return None, f"cannot hash: {exc.strerror or exc}", False
    stable = st.st_size == size and st.st_mtime_ns == mtime_ns and time.time_ns() - st.st_mtime_ns > racy_ns
    return etag, None, stable


def hash_files(jobs: list[FileJob], racy_ns: int) -> list[FileDone]:
    """:func:`hash_file` over a batch, in order."""
    return [hash_file(path, size, mtime_ns, part_size, racy_ns) for path, size, mtime_ns, part_size in jobs]
