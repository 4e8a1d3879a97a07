"""CDN (fusion): refresh, prefetch, their task queries, flux, bandwidth and log lists.

All calls are ``POST`` with a JSON body and QBox auth (the body is not signed). A body
``code`` other than 200 raises: quota codes (400033/400034/400035) -> ``QuotaExceeded``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from .auth import QBoxAuth
from .hosts import HostResolver
from .http import HttpClient
from .jsontypes import JsonMapping, JsonObject


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """Answer of a refresh: task ids per URL/dir, rejected entries and the day's quotas."""

    request_id: str
    task_ids: Mapping[str, str]
    invalid_urls: tuple[str, ...]
    invalid_dirs: tuple[str, ...]
    url_quota_day: int
    url_surplus_day: int
    dir_quota_day: int
    dir_surplus_day: int


@dataclass(frozen=True, slots=True)
class PrefetchResult:
    """Answer of a prefetch: task ids, rejected URLs, the day's quota and what is left."""

    request_id: str
    task_ids: Mapping[str, str]
    invalid_urls: tuple[str, ...]
    quota_day: int
    surplus_day: int


@dataclass(frozen=True, slots=True)
class CdnTask:
    """One refresh/prefetch task from a list query."""

    task_id: str
    request_id: str
    url: str
    state: str
    progress: int
    is_dir: str
    create_at: str
    begin_at: str
    end_at: str
    state_detail: str = ""


@dataclass(frozen=True, slots=True)
class CdnTaskPage:
    """A page of a refresh/prefetch task query."""

    items: tuple[CdnTask, ...]
    page_no: int
    page_size: int
    total: int


@dataclass(frozen=True, slots=True)
class TrafficData:
    """Flux or bandwidth series: time points and, per domain, per area (china/oversea)."""

    time: tuple[str, ...]
    data: Mapping[str, Mapping[str, tuple[float, ...]]]


@dataclass(frozen=True, slots=True)
class LogFile:
    """A downloadable CDN log file."""

    name: str
    size: int
    mtime: int
    url: str = field(repr=False)


def _ints(body: JsonMapping, name: str) -> int:
    try:
        return int(body.get(name) or 0)
    except (TypeError, ValueError):
        return 0


def _strs(values: object) -> tuple[str, ...]:
    """The items of a JSON list as text (nothing for a missing or empty one)."""
    if not values:
        return ()
    if not isinstance(values, Iterable):
        raise TypeError(f"expected a list, got {type(values).__name__}")
    return tuple(str(v) for v in values)


class CdnApi:
    """``client.cdn``."""

    def __init__(self, http: HttpClient, resolver: HostResolver, auth: QBoxAuth) -> None:
        self._http = http
        self._resolver = resolver
        self._auth = auth

    def _post(self, path: str, body: JsonMapping) -> JsonObject:
        return self._http.request("POST", self._resolver.candidates("fusion"), path, json_body=dict(body),
                                  auth=self._auth, fusion=True).json_object()

    def refresh(self, urls: Sequence[str] = (), dirs: Sequence[str] = ()) -> RefreshResult:
        """Purge cached URLs and/or directories (directories end with ``/``)."""
        if not urls and not dirs:
            raise ValueError("refresh needs urls or dirs")
        body: JsonObject = {}
        if urls:
            body["urls"] = list(urls)
        if dirs:
            body["dirs"] = list(dirs)
        r = self._post("/v2/tune/refresh", body)
        return RefreshResult(request_id=str(r.get("requestId", "")), task_ids=dict(r.get("taskIds") or {}),
                             invalid_urls=_strs(r.get("invalidUrls")), invalid_dirs=_strs(r.get("invalidDirs")),
                             url_quota_day=_ints(r, "urlQuotaDay"), url_surplus_day=_ints(r, "urlSurplusDay"),
                             dir_quota_day=_ints(r, "dirQuotaDay"), dir_surplus_day=_ints(r, "dirSurplusDay"))

    def prefetch(self, urls: Sequence[str]) -> PrefetchResult:
        """Warm the CDN cache with ``urls``."""
        if not urls:
            raise ValueError("prefetch needs urls")
        r = self._post("/v2/tune/prefetch", {"urls": list(urls)})
        return PrefetchResult(request_id=str(r.get("requestId", "")), task_ids=dict(r.get("taskIds") or {}),
                              invalid_urls=_strs(r.get("invalidUrls")), quota_day=_ints(r, "quotaDay"),
                              surplus_day=_ints(r, "surplusDay"))

    def _tasks(self, path: str, request_id: str | None, urls: Sequence[str], state: str | None,
               is_dir: str | None, page_no: int, page_size: int, start_time: str | None,
               end_time: str | None) -> CdnTaskPage:
        body: JsonObject = {"pageNo": page_no, "pageSize": page_size}
        for name, value in (("requestId", request_id), ("state", state), ("isDir", is_dir),
                            ("startTime", start_time), ("endTime", end_time)):
            if value:
                body[name] = value
        if urls:
            body["urls"] = list(urls)
        r = self._post(path, body)
        items = tuple(CdnTask(task_id=str(i.get("taskId", "")), request_id=str(i.get("requestId", "")),
                              url=str(i.get("url", "")), state=str(i.get("state", "")),
                              progress=_ints(i, "progress"), is_dir=str(i.get("isDir", "")),
                              create_at=str(i.get("createAt", "")), begin_at=str(i.get("beginAt", "")),
                              end_at=str(i.get("endAt", "")), state_detail=str(i.get("stateDetail", "")))
                      for i in r.get("items") or [] if isinstance(i, dict))
        return CdnTaskPage(items=items, page_no=_ints(r, "pageNo"), page_size=_ints(r, "pageSize"),
                           total=_ints(r, "total"))

    def refresh_list(self, *, request_id: str | None = None, urls: Sequence[str] = (), state: str | None = None,
                     is_dir: str | None = None, page_no: int = 0, page_size: int = 100,
                     start_time: str | None = None, end_time: str | None = None) -> CdnTaskPage:
        """Query refresh tasks (by request id, URLs, state, time range)."""
        return self._tasks("/v2/tune/refresh/list", request_id, urls, state, is_dir, page_no, page_size,
                           start_time, end_time)

    def prefetch_list(self, *, request_id: str | None = None, urls: Sequence[str] = (), state: str | None = None,
                      page_no: int = 0, page_size: int = 100, start_time: str | None = None,
                      end_time: str | None = None) -> CdnTaskPage:
        """Query prefetch tasks."""
        return self._tasks("/v2/tune/prefetch/list", request_id, urls, state, None, page_no, page_size,
                           start_time, end_time)

    def _traffic(self, path: str, domains: Sequence[str], start: str, end: str, granularity: str,
                 data_type: str | None) -> TrafficData:
        body: JsonObject = {"domains": ";".join(domains), "startDate": start, "endDate": end,
                                "granularity": granularity}
        if data_type:
            body["type"] = data_type
        r = self._post(path, body)
        data: dict[str, dict[str, tuple[float, ...]]] = {}
        for domain, areas in (r.get("data") or {}).items():
            if isinstance(areas, dict):
                data[str(domain)] = {str(a): tuple(float(v) for v in vals or []) for a, vals in areas.items()}
        return TrafficData(time=_strs(r.get("time")), data=data)

    def flux(self, domains: Sequence[str], start: str, end: str,
             granularity: Literal["5min", "hour", "day"] = "day", data_type: str | None = None) -> TrafficData:
        """Traffic per domain (bytes); dates ``YYYY-MM-DD``; ``data_type`` flow/302flow/302mflow."""
        return self._traffic("/v2/tune/flux", domains, start, end, granularity, data_type)

    def bandwidth(self, domains: Sequence[str], start: str, end: str,
                  granularity: Literal["5min", "hour", "day"] = "day",
                  data_type: str | None = None) -> TrafficData:
        """Bandwidth per domain (bps); ``data_type`` bandwidth/302bandwidth/302mbandwidth."""
        return self._traffic("/v2/tune/bandwidth", domains, start, end, granularity, data_type)

    def download_log(self, log: LogFile) -> bytes:
        """The bytes of one listed log file (a plain GET of its signed URL; no auth header)."""
        parts = urlsplit(log.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"log file {log.name!r} has no http(s) URL")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return self._http.request("GET", [f"{parts.scheme}://{parts.netloc}"], path, failover=False).content

    def log_list(self, domains: Sequence[str], day: str) -> dict[str, list[LogFile]]:
        """Log files of ``day`` (``YYYY-MM-DD``) per domain."""
        r = self._post("/v2/tune/log/list", {"domains": ";".join(domains), "day": day})
        out: dict[str, list[LogFile]] = {}
        for domain, files in (r.get("data") or {}).items():
            out[str(domain)] = [LogFile(name=str(f.get("name", "")), size=_ints(f, "size"),
                                        mtime=_ints(f, "mtime"), url=str(f.get("url", "")))
                                for f in files or [] if isinstance(f, dict)]
        return out
