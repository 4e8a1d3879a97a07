"""``kind: cdn``: refresh and prefetch CDN URLs/directories, and fetch traffic reports and logs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, model_validator

from kodo_jobs.manifest.base import Model
from kodo_jobs.manifest.spec_common import JobBase
from kodo_jobs.manifest.types import HttpUrlText, LocalPath, check_http_url

DOMAIN_PATTERN = r"^[A-Za-z0-9*]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$"


def _check_dir(value: str) -> str:
    check_http_url(value)
    if not (value.endswith("/") or value.endswith("/*")):
        raise ValueError(f"a directory must end with '/' (got {value!r})")
    return value


DirUrl = Annotated[str, AfterValidator(_check_dir)]


class CdnReport(Model):
    """Download traffic/bandwidth statistics and (optionally) access logs of CDN domains."""

    domains: Annotated[tuple[Annotated[str, Field(pattern=DOMAIN_PATTERN)], ...], Field(min_length=1)]
    """CDN domains (no scheme)."""
    start: dt.date
    """First day (YYYY-MM-DD)."""
    end: dt.date
    """Last day (YYYY-MM-DD)."""
    granularity: Literal["5min", "hour", "day"] = "day"
    """Time step of the series."""
    flux: bool = True
    """Include traffic (bytes)."""
    bandwidth: bool = False
    """Include bandwidth (bit/s)."""
    format: Literal["csv", "json"] = "csv"
    """Output format."""
    out: LocalPath
    """Output file (relative to the manifest)."""
    logs_day: dt.date | None = None
    """Also list (and with logs_dir, download) the access logs of this day."""
    logs_dir: LocalPath | None = None
    """Folder for downloaded access logs."""

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) must not be before start ({self.start})")
        if not (self.flux or self.bandwidth or self.logs_day):
            raise ValueError("nothing to report: set flux, bandwidth or logs_day")
        if self.logs_dir is not None and self.logs_day is None:
            raise ValueError("logs_dir needs logs_day")
        return self


class CdnJob(JobBase):
    """Refresh or prefetch CDN caches (split into per-request limits), or write a CDN report."""

    kind: Literal["cdn"]
    """Job kind."""
    refresh_urls: tuple[HttpUrlText, ...] = ()
    """URLs to refresh (absolute http(s))."""
    refresh_dirs: tuple[DirUrl, ...] = ()
    """Directories to refresh (end with '/')."""
    prefetch_urls: tuple[HttpUrlText, ...] = ()
    """URLs to prefetch into the CDN."""
    urls_per_request: Annotated[int, Field(ge=1, le=100)] = 60
    """URLs per refresh/prefetch request (the service allows 60 by default)."""
    dirs_per_request: Annotated[int, Field(ge=1, le=10)] = 10
    """Directories per refresh request."""
    report: CdnReport | None = None
    """Write traffic/bandwidth statistics and logs."""
    every_run: bool = False
    """Send the refreshes/prefetches (and write a finished period's report) on every run;
    by default each is done once per content of this job's spec (recorded in the state file)."""

    @model_validator(mode="after")
    def _work(self) -> Self:
        if not (self.refresh_urls or self.refresh_dirs or self.prefetch_urls or self.report):
            raise ValueError("nothing to do: set refresh_urls, refresh_dirs, prefetch_urls or report")
        return self
