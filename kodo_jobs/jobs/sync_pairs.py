"""What both sync directions share: the retrying prefix listing and the march-and-classify loop.

Upload (``jobs/sync.py``) and download (``jobs/sync_download.py``) differ only in how a
(local, remote) pair becomes an action; listing the remote prefix and walking both sorted
streams in step is the same code, kept here once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from typing import Any

from kodo_jobs.errors import RunAborted
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.jobs.hashing import Hasher, HashRequest, HashResult
from kodo_jobs.jobs.march import MarchOrderError, march
from kodo_jobs.jobs.walk import WalkError, WalkRecord
from kodo_jobs.kodo import errors as kodo_errors
from kodo_jobs.kodo.rsf import ListPage, PageFetch, pages_ahead
from kodo_jobs.plan import Action

Pair = tuple[WalkRecord | None, Any]


def list_prefix(ctx: JobContext, spec: Any, job: str, prefix: str) -> Generator[Any, None, None]:
    """Every object under ``bucket:prefix`` in key order, page by page, the next page fetched
    while the planner works on the current one (:func:`~kodo_jobs.kodo.rsf.pages_ahead`).

    A transient listing failure is retried with the job's retry policy; a missing bucket or a
    failure that outlives the retries aborts the run (a sync cannot be planned without its
    listing, and an incomplete one would turn present objects into "missing" ones).
    """
    with closing(pages_ahead(_page_fetch(ctx, spec, job, prefix))) as pages:
        for page in pages:
            yield from page.entries


def _page_fetch(ctx: JobContext, spec: Any, job: str, prefix: str) -> PageFetch:
    """One listing page with the job's retries (runs in the read-ahead thread)."""
    client, bucket, retry = ctx.client, str(spec.bucket), spec.retry

    def fetch(marker: str, stop: threading.Event) -> ListPage:
        failures = 0
        while True:
            try:
                page: ListPage = client.rsf.page(bucket, prefix=prefix, marker=marker)
                return page
            except kodo_errors.NoSuchBucket as exc:
                raise RunAborted(
                    f"job {job}: bucket {bucket!r} does not exist ({exc.code}, reqid {exc.reqid or '-'}); "
                    "create it or fix `bucket:` in the manifest") from exc
            except kodo_errors.RetryableError as exc:
                failures += 1
                if failures >= int(retry.attempts):
                    raise RunAborted(f"job {job}: cannot list bucket {bucket!r}: {exc}") from exc
                if stop.wait(min(float(retry.max_wait), float(retry.initial_wait) * 2 ** (failures - 1))):
                    raise RunAborted(f"job {job}: listing of {bucket!r} stopped") from exc
            except kodo_errors.KodoError as exc:
                raise RunAborted(f"job {job}: cannot list bucket {bucket!r}: {exc}") from exc

    return fetch


def classified(
    job: str,
    local: Iterable[WalkRecord],
    remote: Iterable[Any],
    hasher: Hasher,
    want_hash: Callable[[Pair], HashRequest | None],
    classify: Callable[[WalkRecord | None, Any, HashResult | None], Action | None],
    counts: dict[str, int],
) -> Iterator[Action]:
    """March the two sorted streams, hash what the verdict needs, and yield one action per key.

    ``remote`` is closed when this ends, however it ends (its listing may have a page in flight
    in a background thread, see :func:`list_prefix`).
    """
    pairs: Iterable[Pair] = march(
        local, remote,
        is_subtree=lambda r: isinstance(r, WalkError) and r.subtree,
        is_ordered=lambda r: not isinstance(r, WalkError) or r.ordered,
    )
    try:
        for (loc, rem), hashed in hasher.stream(pairs, want_hash):
            action = classify(loc, rem, hashed)
            if action is not None:
                counts[action.op] = counts.get(action.op, 0) + 1
                yield action
    except MarchOrderError as exc:
        # pairing unsorted listings would turn present files into "missing" ones: stop
        raise RunAborted(f"job {job}: {exc}; refusing to compare unsorted listings") from exc
    finally:
        close = getattr(remote, "close", None)
        if close is not None:
            close()
