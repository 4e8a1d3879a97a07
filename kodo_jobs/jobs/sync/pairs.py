"""What both sync directions share: the retrying prefix listing and the march-and-classify loop.

Upload (``jobs/sync/kind.py``) and download (``jobs/sync/download.py``) differ only in how a
(local, remote) pair becomes an action; listing the remote prefix and walking both sorted
streams in step is the same code, kept here once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from typing import TYPE_CHECKING, TypeVar

from kodo_jobs.actions import Action
from kodo_jobs.errors import RunAborted
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.jobs.sync.hashing import Hasher, HashRequest, HashResult
from kodo_jobs.jobs.sync.march import MarchOrderError, march
from kodo_jobs.jobs.sync.walk import WalkError, WalkRecord
from kodo_jobs.jobs.tries import policy_for
from kodo_jobs.kodo import errors as kodo_errors
from kodo_jobs.kodo.retry import call_with_retries
from kodo_jobs.kodo.rsf import ListEntry, ListPage, PageFetch, pages_ahead

if TYPE_CHECKING:
    from kodo_jobs.manifest.spec_sync import SyncJob

Pair = tuple[WalkRecord | None, ListEntry | None]
A = TypeVar("A", bound=Action)


def list_prefix(ctx: JobContext[SyncJob], spec: SyncJob, job: str, prefix: str) -> Generator[ListEntry, None, None]:
    """Every object under ``bucket:prefix`` in key order, page by page, the next page fetched
    while the planner works on the current one (:func:`~kodo_jobs.kodo.rsf.pages_ahead`).

    A transient listing failure is retried with the job's retry policy (backoff with jitter,
    Retry-After, error classes: :mod:`kodo_jobs.kodo.retry`); a missing bucket or a
    failure that outlives the retries aborts the run (a sync cannot be planned without its
    listing, and an incomplete one would turn present objects into "missing" ones).
    """
    with closing(pages_ahead(_page_fetch(ctx, spec, job, prefix))) as pages:
        for page in pages:
            yield from page.entries


def _page_fetch(ctx: JobContext[SyncJob], spec: SyncJob, job: str, prefix: str) -> PageFetch:
    """One listing page with the job's retry policy (runs in the read-ahead thread)."""
    client, bucket, policy = ctx.client, str(spec.bucket), policy_for(spec)

    def fetch(marker: str, stop: threading.Event) -> ListPage:
        def on_retry(exc: BaseException, attempt: int, wait: float) -> None:
            if ctx.log is not None:
                ctx.log.warning("retrying listing", bucket=bucket, prefix=prefix, attempt=attempt,
                                wait=round(wait, 3), reqid=getattr(exc, "reqid", ""), error=str(exc))

        def once(_attempt: int) -> ListPage:
            page: ListPage = client.rsf.page(bucket, prefix=prefix, marker=marker)
            return page

        try:
            return call_with_retries(once, policy, on_retry=on_retry, wait=stop.wait)
        except kodo_errors.NoSuchBucket as exc:
            raise RunAborted(
                f"job {job}: bucket {bucket!r} does not exist ({exc.code}, reqid {exc.reqid or '-'}); "
                "create it or fix `bucket:` in the manifest") from exc
        except kodo_errors.RetryableError as exc:
            if stop.is_set():
                raise RunAborted(f"job {job}: listing of {bucket!r} stopped") from exc
            raise RunAborted(f"job {job}: cannot list bucket {bucket!r}: {exc} "
                             f"(after {exc.attempts} attempt(s))") from exc
        except kodo_errors.KodoError as exc:
            raise RunAborted(f"job {job}: cannot list bucket {bucket!r}: {exc}") from exc

    return fetch


def classified(
    job: str,
    local: Iterable[WalkRecord],
    remote: Iterable[ListEntry],
    hasher: Hasher,
    want_hash: Callable[[Pair], HashRequest | None],
    classify: Callable[[WalkRecord | None, ListEntry | None, HashResult | None], A | None],
    counts: dict[str, int],
) -> Iterator[A]:
    """March the two sorted streams, hash what the verdict needs, and yield one action per key.

    ``remote`` is closed when this ends, however it ends (its listing may have a page in flight
    in a background thread, see :func:`list_prefix`).
    """
    pairs: Iterable[Pair] = march(
        local, remote,
        is_subtree=lambda r: type(r) is WalkError and r.subtree,
        is_ordered=lambda r: type(r) is not WalkError or r.ordered,
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
