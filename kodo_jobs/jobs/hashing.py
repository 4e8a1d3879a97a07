"""qetags of many local files: the hash cache first, then computed, in order and streaming.

Why this shape (shared/PERF-LIMITS.md section 2): hashing a small file costs 6-25 us of which
most is per-file overhead under the GIL, so threads do not help and ``ThreadPoolExecutor.map``
per file is a net loss; two *processes* fed batches of paths gave 1.9x on the idle machine.
Starting them costs about a third of a second and every batch several context switches (on
the shared dev box under load, two workers measured no faster than inline hashing), so the
first :data:`INLINE_FIRST` misses of a stream are hashed inline (a resync with some edits never
starts a pool) and only a long stream of misses starts one (``spawn`` context: forking a
process that runs threads, such as the embedded emulator, is unsafe).

The stream is ordered and bounded: at most :data:`WINDOW` items wait for their batch, so
memory stays flat on a 200k-file tree.

Cache rows are keyed by path and fingerprint (size, mtime_ns). A v2 upload with parts that
are not 4 MiB gives objects a different hash (kodo-protocol.md section 3), cached under a
separate path key (``path + "\\0v2:" + part_size``). An etag is cached only when the file's
fingerprint after hashing still equals the one it was asked for and its mtime is older than
:data:`RACY_NS`, so a file being written while (or just before) it is hashed never poisons
the cache.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from kodo_jobs.jobs.base import StateView
from kodo_jobs.kodo.etag import BLOCK_SIZE, etag_file, etag_file_v2

INLINE_FIRST = 4096
"""Misses hashed inline before a process pool is worth starting (starting two spawn workers
costs about 0.35 s, the time to hash several thousand small files inline)."""
BATCH_FILES = 500
"""Files per task sent to a worker process (PERF-LIMITS.md measured chunks of 500; each task
costs several context switches, which a busy machine makes expensive)."""
BATCH_BYTES = 32 * 1024 * 1024
"""Bytes per task (a few large files make a batch on their own)."""
WINDOW = 8192
"""Items (hashed or not) allowed to wait for an earlier batch before the stream blocks."""

RACY_NS = 100_000_000
"""A file modified less than this long before it was hashed is not cached: file systems stamp
mtimes from a coarse clock (a few ms), so a second same-size write within the same tick would
leave (size, mtime_ns) unchanged and the cached etag silently stale (git's "racy" problem)."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HashRequest:
    """Hash ``path``, known to have this size and mtime_ns; ``part_size`` > 0: v2 hash with those parts."""

    path: str
    size: int
    mtime_ns: int
    part_size: int = 0


@dataclass(frozen=True, slots=True)
class HashResult:
    """An etag, or the reason it could not be computed."""

    etag: str | None
    error: str | None = None
    cached: bool = False


def etag_kind_part_size(resumable: str, part_size: int, size: int, threshold: int) -> int:
    """The ``part_size`` of the hash an upload with these settings produces (0 = plain qetag)."""
    if resumable == "v2" and size > threshold and part_size != BLOCK_SIZE:
        return part_size
    return 0


def cache_path(request: HashRequest) -> str:
    """The hash-cache key of a request (see the module docstring)."""
    return request.path if request.part_size <= 0 else f"{request.path}\0v2:{request.part_size}"


def compute(request: HashRequest) -> tuple[HashResult, bool]:
    """Hash one file; return the result and whether its fingerprint held still while hashing."""
    try:
        if request.part_size > 0:
            etag = etag_file_v2(request.path, request.part_size)
        else:
            etag = etag_file(request.path)
        st = os.stat(request.path)
    except OSError as exc:
        return HashResult(None, f"cannot hash: {exc.strerror or exc}"), False
    stable = (st.st_size == request.size and st.st_mtime_ns == request.mtime_ns
              and time.time_ns() - st.st_mtime_ns > RACY_NS)
    return HashResult(etag), stable


def _compute_batch(requests: list[HashRequest]) -> list[tuple[HashResult, bool]]:
    return [compute(r) for r in requests]


class Hasher:
    """Etags with the hash cache, counted; :meth:`stream` for many files, :meth:`etag` for one.

    Thread-safe for :meth:`etag` (run workers call it concurrently); :meth:`stream` is used by
    one planner at a time.
    """

    def __init__(self, state: StateView, *, processes: int | None = None) -> None:
        self._state = state
        cpus = os.cpu_count() or 1
        self.processes = processes if processes is not None else min(cpus, 4)
        self._lock = threading.Lock()
        self.cache_hits = 0
        self.hashed_files = 0
        self.hashed_bytes = 0

    def _count(self, hits: int = 0, files: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self.cache_hits += hits
            self.hashed_files += files
            self.hashed_bytes += nbytes

    def lookup(self, request: HashRequest) -> str | None:
        """The cached etag, if the fingerprint matches."""
        return self._state.etag_for(cache_path(request), request.size, request.mtime_ns)

    def _store(self, request: HashRequest, result: HashResult, stable: bool) -> None:
        self._count(files=1, nbytes=request.size)
        if result.etag is not None and stable:
            self._state.remember_etag(cache_path(request), request.size, request.mtime_ns, result.etag)

    def etag(self, request: HashRequest) -> HashResult:
        """One file's etag: cached, or computed inline and remembered."""
        cached = self.lookup(request)
        if cached is not None:
            self._count(hits=1)
            return HashResult(cached, cached=True)
        result, stable = compute(request)
        self._store(request, result, stable)
        return result

    def stream(
        self, items: Iterable[T], want: Callable[[T], HashRequest | None]
    ) -> Iterator[tuple[T, HashResult | None]]:
        """Yield ``(item, result)`` in input order; ``result`` is None when ``want(item)`` is None."""
        return _Stream(self, items, want).run()


@dataclass(slots=True)
class _Pending:
    """A miss waiting for a worker process: its future is set once its batch is submitted."""

    request: HashRequest
    future: Future[list[tuple[HashResult, bool]]] | None = None
    index: int = 0


class _Stream(Generic[T]):
    """One ordered pass over the items: inline first, then batches to a process pool."""

    def __init__(self, hasher: Hasher, items: Iterable[T], want: Callable[[T], HashRequest | None]) -> None:
        self.hasher = hasher
        self.items = items
        self.want = want
        self.misses = 0
        self.pool: ProcessPoolExecutor | None = None
        self.queue: deque[tuple[T, HashResult | _Pending | None]] = deque()
        self.batch: list[_Pending] = []
        self.batch_bytes = 0

    def run(self) -> Iterator[tuple[T, HashResult | None]]:
        try:
            queue = self.queue
            want = self.want
            for item in self.items:
                request = want(item)
                if not queue:  # fast path: nothing waits for a worker, so nothing to reorder
                    if request is None:
                        yield item, None
                        continue
                    slot = self._add(request)
                    if not isinstance(slot, _Pending):
                        yield item, slot
                        continue
                    queue.append((item, slot))
                    continue
                queue.append((item, None if request is None else self._add(request)))
                yield from self._drain(block=len(queue) >= WINDOW)
            yield from self._drain(block=True, everything=True)
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)

    def _add(self, request: HashRequest) -> HashResult | _Pending:
        hasher = self.hasher
        cached = hasher.lookup(request)
        if cached is not None:
            hasher._count(hits=1)
            return HashResult(cached, cached=True)
        self.misses += 1
        if self.misses <= INLINE_FIRST or hasher.processes < 2:
            result, stable = compute(request)
            hasher._store(request, result, stable)
            return result
        pending = _Pending(request)
        self.batch.append(pending)
        self.batch_bytes += request.size
        if len(self.batch) >= BATCH_FILES or self.batch_bytes >= BATCH_BYTES:
            self._submit()
        return pending

    def _submit(self) -> None:
        if not self.batch:
            return
        requests = [p.request for p in self.batch]
        future: Future[list[tuple[HashResult, bool]]]
        try:
            if self.pool is None:
                self.pool = ProcessPoolExecutor(
                    max_workers=self.hasher.processes, mp_context=multiprocessing.get_context("spawn")
                )
            future = self.pool.submit(_compute_batch, requests)
        except (OSError, RuntimeError):  # no processes here (sandbox, shutting down): hash inline
            self.hasher.processes = 1
            future = Future()
            future.set_result(_compute_batch(requests))
        for index, pending in enumerate(self.batch):
            pending.future = future
            pending.index = index
        self.batch = []
        self.batch_bytes = 0

    def _drain(self, *, block: bool, everything: bool = False) -> Iterator[tuple[T, HashResult | None]]:
        """Yield the ready head of the queue; ``block``: wait for at least the head; ``everything``: for all."""
        while self.queue:
            item, slot = self.queue[0]
            if isinstance(slot, _Pending):
                if slot.future is None:
                    if not (block or everything):
                        return
                    self._submit()
                assert slot.future is not None
                if not slot.future.done() and not (block or everything):
                    return
                result, stable = slot.future.result()[slot.index]
                self.hasher._store(slot.request, result, stable)
                self.queue.popleft()
                block = False
                yield item, result
            else:
                self.queue.popleft()
                yield item, slot
