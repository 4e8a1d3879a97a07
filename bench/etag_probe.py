"""One etag side, timed inside its own process (interpreter start-up and imports excluded).

Usage: ``python -m bench.etag_probe METHOD PART PATH`` with METHOD one of ``raw`` (read +
``hashlib.sha1`` over the same bytes: the ceiling), ``qiniu`` (``qiniu.etag``) or
``kodo-jobs`` (``kodo_jobs.kodo.etag``), PART ``big`` (PATH is one file) or ``small`` (PATH is
a tree of small files). Prints one JSON line: seconds, files, bytes, and a digest of the
results so the harness can check that kodo-jobs and the SDK agree on every etag.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence

BLOCK = 4 * 1024 * 1024


def _files(root: str) -> list[str]:
    out: list[str] = []
    for folder, _dirs, names in os.walk(root):
        out.extend(os.path.join(folder, n) for n in names)
    out.sort()
    return out


def raw_big(path: str) -> list[str]:
    """The ceiling: one SHA-1 over the whole file, 4 MiB reads into a reused buffer."""
    digest = hashlib.sha1()
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            digest.update(view[:n])
    return [digest.hexdigest()]


def raw_small(paths: Sequence[str]) -> list[str]:
    out: list[str] = []
    for path in paths:
        with open(path, "rb", buffering=0) as fh:
            out.append(hashlib.sha1(fh.read(os.fstat(fh.fileno()).st_size + 1)).hexdigest())
    return out


def qiniu_each(paths: Sequence[str]) -> list[str]:
    import qiniu

    return [str(qiniu.etag(p)) for p in paths]


class _NoCache:
    """A StateView with an empty hash cache: every file is really hashed."""

    def etag_for(self, path: str, size: int, mtime_ns: int) -> str | None:
        return None

    def remember_etag(self, path: str, size: int, mtime_ns: int, etag: str) -> None:
        return None


def kodo_jobs_each(paths: Sequence[str]) -> Callable[[], list[str]]:
    """One file: ``etag_file``. Many: the sync planner's ``Hasher.stream`` (process pool).

    Returns the timed work; the stat calls happen before it (the planner's walk has them).
    """
    from kodo_jobs.kodo.etag import etag_file

    if len(paths) == 1:
        return lambda: [etag_file(paths[0])]
    try:
        from kodo_jobs.jobs.sync.hashing import Hasher, HashRequest
    except ImportError:
        return lambda: [etag_file(p) for p in paths]
    requests = [HashRequest(p, st.st_size, st.st_mtime_ns) for p, st in ((p, os.stat(p)) for p in paths)]

    def work() -> list[str]:
        out = []
        for _req, result in Hasher(_NoCache()).stream(requests, lambda r: r):  # type: ignore[arg-type]
            if result is None or result.etag is None:
                raise SystemExit(f"hashing failed: {result}")
            out.append(result.etag)
        return out

    return work


def main(method: str, part: str, path: str) -> None:
    paths = [path] if part == "big" else _files(path)
    size = sum(os.path.getsize(p) for p in paths)
    if method == "raw":
        work: Callable[[], list[str]] = (lambda: raw_big(paths[0])) if part == "big" else (lambda: raw_small(paths))
    elif method == "qiniu":
        import qiniu  # noqa: F401  (imported before the clock starts, like the others)

        work = lambda: qiniu_each(paths)  # noqa: E731
    elif method == "kodo-jobs":
        work = kodo_jobs_each(paths)
    else:
        raise SystemExit(f"unknown method {method!r}")
    start = time.perf_counter()
    results = work()
    seconds = time.perf_counter() - start
    digest = hashlib.sha1("\n".join(results).encode()).hexdigest()
    print(json.dumps({"seconds": seconds, "files": len(paths), "bytes": size, "results": len(results),
                      "digest": digest}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
