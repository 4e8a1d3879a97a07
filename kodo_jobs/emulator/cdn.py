"""Simulated Qiniu CDN (fusion): refresh/prefetch tasks with quotas, traffic data, log files.

What is real: per-request limits and per-day quotas (counted in SQLite, so they survive a
restart; the day is the China Standard Time calendar day, when Qiniu's quotas reset), task ids
that the list APIs find again, and log files that can be downloaded and gunzipped. What is
synthetic: flux/bandwidth numbers (a deterministic function of domain, type and time, so two
queries agree) and the log lines.

Errors are answered as HTTP 400 with fusion's body `{"code": <6-digit>, "error": ...}` so the
official SDK reports them as failures (`info.ok()` is False; the body is in `info.text_body`).
Codes (Qiniu's table): 400031 invalid url/dir, 400033 prefetch limit, 400034 url refresh
limit, 400035 dir refresh limit; the same code covers the per-request limit and the daily
quota, with a message that says which. 400000 is used for other malformed requests.
"""

from __future__ import annotations

import calendar
import gzip
import hashlib
import json
import threading
import time
import urllib.parse
import uuid
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from kodo_jobs.emulator.db import connect_wal, write_tx
from kodo_jobs.emulator.jsontypes import JsonObject

CST = 8 * 3600
GRANULARITY_SECONDS = {"5min": 300, "hour": 3600, "day": 86400}
FLUX_TYPES = ("flow", "302flow", "302mflow")
BANDWIDTH_TYPES = ("bandwidth", "302bandwidth", "302mbandwidth")
MAX_POINTS = 20000
LOG_HOURS = (0, 8, 16)


@dataclass
class CdnLimits:
    """Daily quotas and per-request limits (defaults: Qiniu's documented defaults)."""

    url_quota: int = 500
    dir_quota: int = 10
    prefetch_quota: int = 100
    urls_per_request: int = 60
    dirs_per_request: int = 10

    def update(self, changes: JsonObject) -> None:
        """Apply an admin change; ValueError names the bad field."""
        names = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in names:
                raise ValueError(f"unknown CDN setting {name!r}; known: {sorted(names)}")
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        for name, value in changes.items():
            setattr(self, name, value)


class FusionError(Exception):
    """A fusion-level refusal: answered HTTP 400 with `{"code": code, "error": message}`."""

    def __init__(self, code: int, message: str, extra: JsonObject | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra or {}

    def body(self, request_id: str) -> JsonObject:
        """The JSON body to answer with."""
        return {"code": self.code, "error": self.message, "requestId": request_id, **self.extra}


def valid_url(url: object) -> bool:
    """An absolute http(s) URL with a host, not a directory."""
    if not isinstance(url, str):
        return False
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not url.endswith("/")


def valid_dir(url: object) -> bool:
    """An absolute http(s) URL ending with `/` (or `/*`)."""
    if not isinstance(url, str):
        return False
    parts = urllib.parse.urlsplit(url)
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and (url.endswith("/") or url.endswith("/*")))


def cst_day(now: float | None = None) -> str:
    """Today's date in China Standard Time (when Kodo's CDN quotas reset)."""
    return time.strftime("%Y-%m-%d", time.gmtime((time.time() if now is None else now) + CST))


def _fmt(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts + CST))


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS cdn_usage (day TEXT, kind TEXT, used INTEGER, PRIMARY KEY (day, kind))",
    "CREATE TABLE IF NOT EXISTS cdn_tasks (task_id TEXT PRIMARY KEY, request_id TEXT, kind TEXT,"
    " url TEXT, is_dir INTEGER, created REAL)",
)


class CdnService:
    """Refresh and prefetch bookkeeping in SQLite, plus the synthetic data endpoints."""

    def __init__(self, db_path: Path, limits: CdnLimits | None = None) -> None:
        self.limits = limits or CdnLimits()
        self._lock = threading.Lock()
        self._conn = connect_wal(db_path)
        for statement in _SCHEMA:
            self._conn.execute(statement)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()

    def _used(self, day: str, kind: str) -> int:
        row = self._conn.execute("SELECT used FROM cdn_usage WHERE day=? AND kind=?", (day, kind)).fetchone()
        return int(row[0]) if row else 0

    def _record(self, request_id: str, day: str, tasks: list[tuple[str, str, bool]]) -> dict[str, str]:
        ids: dict[str, str] = {}
        now = time.time()
        for kind, url, is_dir in tasks:
            task_id = uuid.uuid4().hex
            ids[url] = task_id
            self._conn.execute("INSERT INTO cdn_tasks VALUES (?,?,?,?,?,?)",
                               (task_id, request_id, kind, url, int(is_dir), now))
            self._conn.execute(
                "INSERT INTO cdn_usage VALUES (?,?,1) ON CONFLICT(day, kind) DO UPDATE SET used=used+1",
                (day, "dir" if is_dir else kind),
            )
        return ids

    def refresh(self, urls: Any, dirs: Any, request_id: str) -> JsonObject:
        """`/v2/tune/refresh`: FusionError on any invalid entry, limit or quota."""
        urls = _string_list(urls, "urls")
        dirs = _string_list(dirs, "dirs")
        if not urls and not dirs:
            raise FusionError(400000, "urls and dirs are both empty")
        bad_urls = [u for u in urls if not valid_url(u)]
        bad_dirs = [d for d in dirs if not valid_dir(d)]
        if bad_urls or bad_dirs:
            raise FusionError(400031, "invalid url", {"invalidUrls": bad_urls, "invalidDirs": bad_dirs})
        lim = self.limits
        if len(urls) > lim.urls_per_request:
            raise FusionError(400034, f"too many urls in one request: {len(urls)} > {lim.urls_per_request}")
        if len(dirs) > lim.dirs_per_request:
            raise FusionError(400035, f"too many dirs in one request: {len(dirs)} > {lim.dirs_per_request}")
        with write_tx(self._conn, self._lock):
            day = cst_day()
            url_used, dir_used = self._used(day, "refresh"), self._used(day, "dir")
            if url_used + len(urls) > lim.url_quota:
                raise FusionError(400034, f"refresh url quota for today exceeded "
                                  f"({url_used} used of {lim.url_quota}, {len(urls)} asked)")
            if dir_used + len(dirs) > lim.dir_quota:
                raise FusionError(400035, f"refresh dir quota for today exceeded "
                                  f"({dir_used} used of {lim.dir_quota}, {len(dirs)} asked)")
            ids = self._record(request_id, day, [("refresh", u, False) for u in urls]
                               + [("refresh", d, True) for d in dirs])
        return {
            "code": 200, "error": "success", "requestId": request_id, "taskIds": ids,
            "invalidUrls": [], "invalidDirs": [],
            "urlQuotaDay": lim.url_quota, "urlSurplusDay": lim.url_quota - url_used - len(urls),
            "dirQuotaDay": lim.dir_quota, "dirSurplusDay": lim.dir_quota - dir_used - len(dirs),
        }

    def prefetch(self, urls: Any, request_id: str) -> JsonObject:
        """`/v2/tune/prefetch`: FusionError on any invalid URL, limit or quota."""
        urls = _string_list(urls, "urls")
        if not urls:
            raise FusionError(400000, "urls is empty")
        bad = [u for u in urls if not valid_url(u)]
        if bad:
            raise FusionError(400031, "invalid url", {"invalidUrls": bad})
        lim = self.limits
        if len(urls) > lim.urls_per_request:
            raise FusionError(400033, f"too many urls in one request: {len(urls)} > {lim.urls_per_request}")
        with write_tx(self._conn, self._lock):
            day = cst_day()
            used = self._used(day, "prefetch")
            if used + len(urls) > lim.prefetch_quota:
                raise FusionError(400033, f"prefetch quota for today exceeded "
                                  f"({used} used of {lim.prefetch_quota}, {len(urls)} asked)")
            ids = self._record(request_id, day, [("prefetch", u, False) for u in urls])
        return {
            "code": 200, "error": "success", "requestId": request_id, "taskIds": ids,
            "invalidUrls": [], "quotaDay": lim.prefetch_quota,
            "surplusDay": lim.prefetch_quota - used - len(urls),
        }

    def list_tasks(self, kind: str, query: JsonObject, request_id: str) -> JsonObject:
        """`/v2/tune/{refresh,prefetch}/list`: filter by requestId, urls, state, isDir; paged."""
        clauses, args = ["kind=?"], [kind]
        if query.get("requestId"):
            clauses.append("request_id=?")
            args.append(str(query["requestId"]))
        urls = _string_list(query.get("urls"), "urls")
        if urls:
            clauses.append(f"url IN ({','.join('?' * len(urls))})")
            args.extend(urls)
        if query.get("isDir") in ("yes", "no"):
            clauses.append("is_dir=?")
            args.append("1" if query["isDir"] == "yes" else "0")
        page_no, page_size = _int(query.get("pageNo"), 0), _int(query.get("pageSize"), 100) or 100
        with self._lock:
            rows = self._conn.execute(
                f"SELECT task_id, request_id, url, is_dir, created FROM cdn_tasks WHERE {' AND '.join(clauses)}"
                " ORDER BY created DESC, task_id", args).fetchall()
        state = query.get("state")
        if state not in (None, "", "success"):
            rows = []  # every simulated task has already succeeded
        items = [
            {"taskId": t, "requestId": r, "url": u, "state": "success", "stateDetail": "success",
             "progress": 100, "isDir": "yes" if d else "no", "createAt": _fmt(c),
             "beginAt": _fmt(c), "endAt": _fmt(c)}
            for t, r, u, d, c in rows[page_no * page_size:(page_no + 1) * page_size]
        ]
        return {"code": 200, "error": "success", "requestId": request_id, "items": items,
                "pageNo": page_no, "pageSize": page_size, "total": len(rows)}

    def settings(self) -> JsonObject:
        """The current limits (for the admin route)."""
        return asdict(self.limits)


def _string_list(value: object, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FusionError(400000, f"{name} must be a list of strings")
    return [str(v) if not isinstance(v, str) else v for v in value]


def _int(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def _parse_date(text: object, name: str) -> datetime:
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d-%H-%M"):
        try:
            return datetime.strptime(str(text), fmt)
        except ValueError:
            continue
    raise FusionError(400000, f"invalid {name} {text!r}: use YYYY-MM-DD")


def _domains(value: object) -> list[str]:
    domains = [d.strip() for d in str(value or "").split(";") if d.strip()]
    if not domains:
        raise FusionError(400000, "domains is empty")
    return domains


def _value(domain: str, kind: str, area: str, stamp: str, scale: int) -> int:
    digest = hashlib.sha256(f"{domain}|{kind}|{area}|{stamp}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % scale


def traffic(query: JsonObject, bandwidth: bool) -> JsonObject:
    """`/v2/tune/flux` and `/v2/tune/bandwidth`: a deterministic series per domain."""
    domains = _domains(query.get("domains"))
    granularity = str(query.get("granularity") or "")
    if granularity not in GRANULARITY_SECONDS:
        raise FusionError(400000, f"invalid granularity {granularity!r}: use 5min, hour or day")
    allowed = BANDWIDTH_TYPES if bandwidth else FLUX_TYPES
    kind = str(query.get("type") or allowed[0])
    if kind not in allowed:
        raise FusionError(400000, f"invalid type {kind!r}: use one of {', '.join(allowed)}")
    start = _parse_date(query.get("startDate"), "startDate")
    end = _parse_date(query.get("endDate"), "endDate")
    if end < start:
        raise FusionError(400000, "endDate is before startDate")
    step = GRANULARITY_SECONDS[granularity]
    if len(str(query.get("endDate"))) == 10:
        end = end + timedelta(days=1) - timedelta(seconds=step)  # a bare date covers its whole day
    count = int((end - start).total_seconds() // step) + 1
    if count > MAX_POINTS:
        raise FusionError(400000, f"date range too long for granularity {granularity} ({count} points)")
    stamps = [(start + timedelta(seconds=i * step)).strftime("%Y-%m-%d %H:%M:%S") for i in range(count)]
    scale = 100_000_000 if bandwidth else step * 1_000_000
    data = {
        d: {area: [_value(d, kind, area, s, scale) for s in stamps] for area in ("china", "oversea")}
        for d in domains
    }
    return {"code": 200, "error": "", "time": stamps, "data": data}


def log_names(domain: str, day: str) -> list[str]:
    """The log files the emulator pretends a domain produced on a day."""
    return [f"{domain}_{day}-{hour:02d}_part-00000.gz" for hour in LOG_HOURS]


def log_content(domain: str, day: str, name: str) -> bytes | None:
    """The gzip bytes of one listed log file (None if no such file); stable across calls."""
    if name not in log_names(domain, day):
        return None
    hour = int(name.rsplit("-", 2)[-2].split("_")[0])
    when = datetime.strptime(day, "%Y-%m-%d").replace(hour=hour)
    lines = []
    for i in range(5):
        size = _value(domain, "log", name, str(i), 100_000)
        stamp = (when + timedelta(minutes=7 * i)).strftime("%d/%b/%Y:%H:%M:%S +0800")
        lines.append(
            f'127.0.0.{i + 1} HIT 12 [{stamp}] "GET http://{domain}/file-{i}.jpg HTTP/1.1" 200 {size} '
            '"-" "kodo-jobs-emulator"\n'
        )
    return gzip.compress("".join(lines).encode(), mtime=0)


def log_list(query: JsonObject, base_url: str) -> JsonObject:
    """`/v2/tune/log/list`: a few real, downloadable `.gz` files per domain for the day."""
    domains = _domains(query.get("domains"))
    day_dt = _parse_date(query.get("day"), "day")
    if day_dt.date() > date.today() + timedelta(days=1):
        raise FusionError(400000, f"no logs for a future day {query.get('day')!r}")
    day = day_dt.strftime("%Y-%m-%d")
    data: dict[str, list[JsonObject]] = {}
    for domain in domains:
        files = []
        for name in log_names(domain, day):
            content = log_content(domain, day, name) or b""
            hour = int(name.rsplit("-", 2)[-2].split("_")[0])
            mtime = calendar.timegm(day_dt.timetuple()) - CST + (hour + 1) * 3600
            url = f"{base_url}/fusionlog/{urllib.parse.quote(domain)}/{day}/{urllib.parse.quote(name)}"
            files.append({"name": name, "size": len(content), "mtime": mtime, "url": url})
        data[domain] = files
    return {"code": 200, "error": "", "data": data}


def dumps(body: JsonObject) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
