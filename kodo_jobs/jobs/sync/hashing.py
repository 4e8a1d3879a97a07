"""qetags of many local files: the hash cache first, then computed, in order and streaming.

Why this shape (shared/PERF-LIMITS.md section 2; figures: docs/bench.md): hashing a small file is mostly
per-file overhead under the GIL, so threads do not help and ``ThreadPoolExecutor.map`` per file
is a net loss; two *processes* fed batches of paths help on an idle machine. Starting them is
slow and every batch costs several context switches (on a loaded machine two workers gain
nothing over inline hashing), so the
first :data:`INLINE_FIRST` misses of a stream are hashed inline (a resync with some edits never
starts a pool) and only a long stream of misses starts one (``forkserver`` context, else ``spawn``:
forking a process that runs threads, such as the embedded emulator, is unsafe). Workers get
plain tuples and answer with plain tuples, one future per chunk: the main process's own cost
per file is what limits two workers on two cores.

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

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar

from kodo_jobs.jobs.base import StateView
from kodo_jobs.kodo.etag import BLOCK_SIZE
from kodo_jobs.kodo.etag_batch import FileDone, FileJob, hash_file, hash_files

if TYPE_CHECKING:  # the pool's modules load only when a pool starts (a resync rarely needs one)
    import multiprocessing.context
    from concurrent.futures import ProcessPoolExecutor

INLINE_FIRST = 1024
"""Misses hashed inline before a process pool is started. The pool starts in a background
thread (its workers import the hashing code, which takes a while on the other core)
while the stream goes on hashing inline; chunks go to the workers only once they are up, so a
stream that ends first never waits for them."""
BATCH_FILES = 256
"""Files per task sent to a worker process (each task costs several context switches, which a
busy machine makes expensive; this size did best with plain-tuple tasks: figures: docs/bench.md)."""
BATCH_BYTES = 32 * 1024 * 1024
"""Bytes per task (a few large files make a batch on their own)."""
WINDOW = 8192
"""Items (hashed or not) allowed to wait for an earlier batch before the stream blocks."""

RACY_NS = 100_000_000
"""A file modified less than this long before it was hashed is not cached: file systems stamp
mtimes from a coarse clock (a few ms), so a second same-size write within the same tick would
leave (size, mtime_ns) unchanged and the cached etag silently stale (git's "racy" problem)."""

T = TypeVar("T")


class HashRequest(NamedTuple):
    """Hash ``path``, known to have this size and mtime_ns; ``part_size`` > 0: v2 hash with those parts.

    Requests and results are named tuples (not dataclasses): a resync makes one of each per
    compared file, and a tuple is cheaper to build (figures: docs/bench.md)."""

    path: str
    size: int
    mtime_ns: int
    part_size: int = 0


class HashResult(NamedTuple):
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
    etag, error, stable = hash_file(request.path, request.size, request.mtime_ns, request.part_size, RACY_NS)
    return HashResult(etag, error), stable


def _pool_context() -> multiprocessing.context.BaseContext:
    """``forkserver`` where there is one (workers fork from a clean single-threaded server: as safe
    as ``spawn``, and each starts faster), else ``spawn``; never a bare fork of this process."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["kodo_jobs.kodo.etag_batch"])  # hashing code only: see etag_batch
        return ctx
    return multiprocessing.get_context("spawn")


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


class _Chunk:
    """Misses sent to a worker process together: one future for the whole chunk."""

    __slots__ = ("future", "jobs", "requests", "results")

    def __init__(self) -> None:
        self.requests: list[HashRequest] = []
        self.jobs: list[FileJob] = []
        self.future: Future[list[FileDone]] | None = None
        self.results: list[HashResult] | None = None
        """Set once the answers were taken in (cached and counted)."""

    def ready(self) -> bool:
        """The answers can be read without waiting."""
        return self.results is not None or (self.future is not None and self.future.done())


_Slot = HashResult | tuple[_Chunk, int] | None
"""A queued item's answer: ready, waiting at an index of a chunk, or nothing wanted. A
HashResult is a (named) tuple too: test for it first (``isinstance(slot, HashResult)``)."""


class _Stream(Generic[T]):
    """One ordered pass over the items: inline first, then chunks to a process pool.

    The main process does as little as possible per file (the workers need the same cores):
    plain tuples to the workers, one future per chunk, counters updated once per chunk.
    """

    def __init__(self, hasher: Hasher, items: Iterable[T], want: Callable[[T], HashRequest | None]) -> None:
        self.hasher = hasher
        self.items = items
        self.want = want
        self.misses = 0
        self.hits = 0
        self.etag_for = hasher._state.etag_for
        self.pool: ProcessPoolExecutor | None = None
        self.starting: threading.Thread | None = None
        self.pool_up = threading.Event()
        self.queue: deque[tuple[T, _Slot]] = deque()
        self.chunk = _Chunk()
        self.chunk_bytes = 0

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
                    if slot is None or isinstance(slot, HashResult):
                        yield item, slot
                        continue
                    queue.append((item, slot))
                    continue
                queue.append((item, None if request is None else self._add(request)))
                head = queue[0][1]
                if len(queue) >= WINDOW:
                    yield from self._drain(block=True)
                elif head is None or isinstance(head, HashResult) or head[0].ready():  # else the head waits
                    yield from self._drain(block=False)
            yield from self._drain(block=True, everything=True)
        finally:
            self.hasher._count(hits=self.hits)
            self.hits = 0
            if self.starting is not None:
                self.starting.join()
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)

    def _pool_up(self) -> bool:
        """True once the workers answered; the first call starts them in the background."""
        if self.pool_up.is_set():
            return self.hasher.processes >= 2
        if self.starting is None:
            self.starting = threading.Thread(target=self._start_pool, name="kodo-jobs-hash-pool", daemon=True)
            self.starting.start()
        return False

    def _start_pool(self) -> None:
        try:
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(max_workers=self.hasher.processes, mp_context=_pool_context())
            self.pool = pool
            # one no-op per worker: every worker has imported the hashing code when they return
            for warm in [pool.submit(hash_files, [], RACY_NS) for _ in range(self.hasher.processes)]:
                warm.result()
        except Exception:  # noqa: BLE001 - no processes here (sandbox, broken pool): hash inline
            self.hasher.processes = 1
        finally:
            self.pool_up.set()

    def _add(self, request: HashRequest) -> _Slot:
        hasher = self.hasher
        cached = self.etag_for(cache_path(request), request.size, request.mtime_ns)
        if cached is not None:
            self.hits += 1  # added to the hasher's count when the stream ends
            return HashResult(cached, cached=True)
        self.misses += 1
        if self.misses <= INLINE_FIRST or hasher.processes < 2 or not self._pool_up():
            result, stable = compute(request)
            hasher._store(request, result, stable)
            return result
        chunk = self.chunk
        index = len(chunk.jobs)
        chunk.requests.append(request)
        chunk.jobs.append((request.path, request.size, request.mtime_ns, request.part_size))
        self.chunk_bytes += request.size
        if index + 1 >= BATCH_FILES or self.chunk_bytes >= BATCH_BYTES:
            self._submit()
        return chunk, index

    def _submit(self) -> None:
        chunk = self.chunk
        if not chunk.jobs:
            return
        self.chunk = _Chunk()
        self.chunk_bytes = 0
        try:
            if self.pool is None:
                raise RuntimeError("no pool")
            chunk.future = self.pool.submit(hash_files, chunk.jobs, RACY_NS)
        except (OSError, RuntimeError):  # no processes here (sandbox, shutting down): hash inline
            self.hasher.processes = 1
            future: Future[list[FileDone]] = Future()
            answers: list[FileDone] = []
            for request in chunk.requests:  # through compute(), like every other inline hash
                result, stable = compute(request)
                answers.append((result.etag, result.error, stable))
            future.set_result(answers)
            chunk.future = future

    def _finish(self, chunk: _Chunk) -> None:
        """Turn a chunk's answers into results: cache them, count them (once per chunk)."""
        assert chunk.future is not None
        done = chunk.future.result()
        hasher = self.hasher
        results: list[HashResult] = []
        nbytes = 0
        remember = hasher._state.remember_etag
        for request, (etag, error, stable) in zip(chunk.requests, done, strict=True):
            nbytes += request.size
            if etag is not None and stable:
                remember(cache_path(request), request.size, request.mtime_ns, etag)
            results.append(HashResult(etag, error))
        hasher._count(files=len(results), nbytes=nbytes)
        chunk.jobs = []  # the submitted list itself is left alone
        chunk.requests = []
        chunk.results = results

    def _drain(self, *, block: bool, everything: bool = False) -> Iterator[tuple[T, HashResult | None]]:
        """Yield the ready head of the queue; ``block``: wait for at least the head; ``everything``: for all."""
        queue = self.queue
        while queue:
            item, slot = queue[0]
            if slot is None or isinstance(slot, HashResult):
                queue.popleft()
                yield item, slot
                continue
            chunk, index = slot
            if chunk.results is None:
                if chunk.future is None:
                    if not (block or everything):
                        return
                    self._submit()
                assert chunk.future is not None
                if not chunk.future.done() and not (block or everything):
                    return
                self._finish(chunk)
            assert chunk.results is not None
            queue.popleft()
            block = False
            yield item, chunk.results[index]
