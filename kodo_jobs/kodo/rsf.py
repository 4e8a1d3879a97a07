"""rsf: a lazy, marker-paged iterator over ``/list`` yielding typed entries.

Paging loops on the ``marker`` until it is empty: a page may hold fewer items than asked
(even none) while more follow (kodo-protocol.md §5.4).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlencode

from . import errors
from .auth import QiniuAuth
from .hosts import HostResolver
from .http import HttpClient
from .jsontypes import JsonMapping
from .rs import FORM, put_time_to_datetime

MAX_PAGE = 1000


class ListEntry(NamedTuple):
    """One listed object: its key and what the listing says about it (the fields of
    :class:`~kodo_jobs.kodo.rs.ObjectInfo`).

    A named tuple rather than a dataclass because a listing makes one per object and a tuple
    is cheaper to build (figures: docs/bench.md). The
    ``put_time`` datetime is computed when asked for (the planners compare ``put_time_100ns``).
    """

    key: str
    fsize: int
    hash: str
    put_time_100ns: int
    mime_type: str = ""
    type: int = 0
    status: int = 0
    md5: str = ""
    end_user: str = ""

    @property
    def put_time(self) -> datetime:
        """``putTime`` as an aware UTC datetime."""
        return put_time_to_datetime(self.put_time_100ns)

    @classmethod
    def from_json(cls, item: JsonMapping) -> ListEntry:
        """Parse one ``items[]`` element (fsize and hash default to 0 and "", like the SDK)."""
        try:
            get = item.get
            return cls(str(item["key"]), int(get("fsize", 0)), str(get("hash", "")), int(get("putTime", 0)),
                       str(get("mimeType", "")), int(get("type", 0)), int(get("status", 0)),
                       str(get("md5", "") or ""), str(get("endUser", "") or ""))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise errors.ServerError(f"malformed list item: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ListPage:
    """One ``/list`` answer: entries, common prefixes and the marker of the next page."""

    entries: tuple[ListEntry, ...]
    common_prefixes: tuple[str, ...]
    marker: str


PageFetch = Callable[[str, threading.Event], ListPage]
"""Fetches the page that starts at a marker; the event is set when nobody wants it any more
(a fetch that waits between retries should stop waiting then)."""


class _Fetch:
    """One page being fetched in its own short-lived thread."""

    __slots__ = ("_error", "_page", "_thread")

    def __init__(self, fetch: PageFetch, marker: str, stop: threading.Event) -> None:
        self._page: ListPage | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fetch, marker, stop),
                                        name="kodo-jobs-list-ahead", daemon=True)
        self._thread.start()

    def _run(self, fetch: PageFetch, marker: str, stop: threading.Event) -> None:
        try:
            self._page = fetch(marker, stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised in its thread
            self._error = exc

    def result(self) -> ListPage:
        """Wait for the page; raise what the fetch raised."""
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        assert self._page is not None
        return self._page

    def wait(self) -> None:
        """Wait for the thread to end, ignoring its page or error."""
        self._thread.join()


def pages_ahead(fetch: PageFetch, marker: str = "") -> Generator[ListPage, None, None]:
    """Every page from ``marker`` on, in order, each next page fetched while the caller works
    on the current one.

    Why: a planner that asks for page n+1 only after it has processed page n waits for the
    server once per page, a round trip per page that adds up on a large no-op resync
    (figures: docs/bench.md). As soon as a page is read its marker is known, so the next
    request starts in a background thread at once. At most one page is fetched ahead (memory
    stays bounded: the page being processed plus the one in flight). Errors, retries included,
    are the fetch's own and are raised here, in the reader's thread, when the page they concern
    is due.

    Closing the iterator (or the reader failing, which closes it when the caller uses
    ``contextlib.closing``) sets the stop event and waits for the fetch in flight: no thread is
    left running.
    """
    stop = threading.Event()
    ahead: _Fetch | None = _Fetch(fetch, marker, stop)
    try:
        while ahead is not None:
            page = ahead.result()
            ahead = None
            if page.marker:
                if page.marker == marker:
                    raise errors.ServerError("rsf returned the same marker twice: listing would never end")
                marker = page.marker
                ahead = _Fetch(fetch, marker, stop)
            yield page
    finally:
        stop.set()
        if ahead is not None:
            ahead.wait()


class RsfApi:
    """``client.rsf``: listing."""

    def __init__(self, http: HttpClient, resolver: HostResolver, auth: QiniuAuth) -> None:
        self._http = http
        self._resolver = resolver
        self._auth = auth

    def page(self, bucket: str, *, prefix: str = "", delimiter: str = "", marker: str = "",
             limit: int = MAX_PAGE) -> ListPage:
        """Fetch one page (``limit`` 1..1000)."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError("limit must be 1..1000")
        params: list[tuple[str, str]] = [("bucket", bucket)]
        if marker:
            params.append(("marker", marker))
        params.append(("limit", str(limit)))
        if prefix:
            params.append(("prefix", prefix))
        if delimiter:
            params.append(("delimiter", delimiter))
        resp = self._resolver.call("rsf", bucket, lambda hosts: self._http.request(
            "GET", hosts, "/list?" + urlencode(params), headers=FORM, auth=self._auth))
        body = resp.json_object()
        items = body.get("items") or []
        return ListPage(entries=tuple(ListEntry.from_json(i) for i in items),
                        common_prefixes=tuple(str(p) for p in body.get("commonPrefixes") or []),
                        marker=str(body.get("marker") or ""))

    def pages(self, bucket: str, *, prefix: str = "", delimiter: str = "", marker: str = "",
              page_size: int = MAX_PAGE, read_ahead: bool = False) -> Generator[ListPage, None, None]:
        """Every page, lazily, following the marker until it is empty; ``read_ahead``: the next
        page is fetched while the caller works on the current one (see :func:`pages_ahead`)."""
        if read_ahead:
            def fetch(at: str, _stop: threading.Event) -> ListPage:
                return self.page(bucket, prefix=prefix, delimiter=delimiter, marker=at, limit=page_size)

            yield from pages_ahead(fetch, marker)
            return
        while True:
            page = self.page(bucket, prefix=prefix, delimiter=delimiter, marker=marker, limit=page_size)
            yield page
            if not page.marker:
                return
            if page.marker == marker:
                raise errors.ServerError("rsf returned the same marker twice: listing would never end")
            marker = page.marker

    def list(self, bucket: str, *, prefix: str = "", delimiter: str = "", marker: str = "",
             limit: int | None = None, page_size: int = MAX_PAGE, read_ahead: bool = False) -> Generator[ListEntry, None, None]:
        """Every object under ``prefix`` in key order, lazily; at most ``limit`` of them
        (``read_ahead``: see :meth:`pages`)."""
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        count = 0
        if limit == 0:
            return
        for page in self.pages(bucket, prefix=prefix, delimiter=delimiter, marker=marker,
                               page_size=min(page_size, limit) if limit else page_size, read_ahead=read_ahead):
            for entry in page.entries:
                yield entry
                count += 1
                if limit is not None and count >= limit:
                    return

    def common_prefixes(self, bucket: str, *, prefix: str = "", delimiter: str = "/") -> Iterator[str]:
        """The "directories" directly under ``prefix`` (each once, in order)."""
        seen: set[str] = set()
        for page in self.pages(bucket, prefix=prefix, delimiter=delimiter):
            for p in page.common_prefixes:
                if p not in seen:
                    seen.add(p)
                    yield p
