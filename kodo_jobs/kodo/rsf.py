"""rsf: a lazy, marker-paged iterator over ``/list`` yielding typed entries.

Paging loops on the ``marker`` until it is empty: a page may hold fewer items than asked
(even none) while more follow (kodo-protocol.md §5.4).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from . import errors
from .auth import QiniuAuth
from .hosts import HostResolver
from .http import HttpClient
from .rs import FORM, ObjectInfo

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class ListEntry(ObjectInfo):
    """One listed object: its key and what the listing says about it (see :class:`ObjectInfo`)."""

    key: str = field(kw_only=True)

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> ListEntry:
        """Parse one ``items[]`` element."""
        try:
            return cls(key=str(item["key"]), **cls.fields_from_json(item, strict=False))
        except (KeyError, TypeError, ValueError) as exc:
            raise errors.ServerError(f"malformed list item: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ListPage:
    """One ``/list`` answer: entries, common prefixes and the marker of the next page."""

    entries: tuple[ListEntry, ...]
    common_prefixes: tuple[str, ...]
    marker: str


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
        resp = self._http.request("GET", self._resolver.candidates("rsf", bucket), "/list?" + urlencode(params),
                                  headers=FORM, auth=self._auth)
        body = resp.json_object()
        items = body.get("items") or []
        return ListPage(entries=tuple(ListEntry.from_json(i) for i in items),
                        common_prefixes=tuple(str(p) for p in body.get("commonPrefixes") or []),
                        marker=str(body.get("marker") or ""))

    def pages(self, bucket: str, *, prefix: str = "", delimiter: str = "", marker: str = "",
              page_size: int = MAX_PAGE) -> Iterator[ListPage]:
        """Every page, lazily, following the marker until it is empty."""
        while True:
            page = self.page(bucket, prefix=prefix, delimiter=delimiter, marker=marker, limit=page_size)
            yield page
            if not page.marker:
                return
            if page.marker == marker:
                raise errors.ServerError("rsf returned the same marker twice: listing would never end")
            marker = page.marker

    def list(self, bucket: str, *, prefix: str = "", delimiter: str = "", marker: str = "",
             limit: int | None = None, page_size: int = MAX_PAGE) -> Iterator[ListEntry]:
        """Every object under ``prefix`` in key order, lazily; at most ``limit`` of them."""
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        count = 0
        if limit == 0:
            return
        for page in self.pages(bucket, prefix=prefix, delimiter=delimiter, marker=marker,
                               page_size=min(page_size, limit) if limit else page_size):
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
