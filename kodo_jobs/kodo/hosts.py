"""Which base URLs serve a request: explicit hosts, or a region found through uc, cached.

Order of precedence per service: ``Hosts.up_override`` (uploads only) > explicit hosts of
``Hosts`` > the bucket's region from uc ``/v4/query`` (cached per bucket for its ``ttl``;
acceleration domains first when ``Hosts.accelerate``; then the fall-back regions' hosts).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from . import errors
from .config import Hosts, Service
from .uc import RegionHosts, UcApi


class HostResolver:
    """Thread-safe host lookup with a per-bucket region cache."""

    def __init__(self, hosts: Hosts, uc: UcApi | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.hosts = hosts
        self._uc = uc
        self._clock = clock
        self._cache: dict[str, tuple[float, list[RegionHosts]]] = {}
        self._lock = threading.Lock()

    def attach(self, uc: UcApi) -> None:
        """Set the uc API (it needs the resolver's uc hosts, hence the two-step wiring)."""
        self._uc = uc

    def uc_hosts(self) -> tuple[str, ...]:
        """Base URLs of uc (never looked up: uc is global)."""
        return self.hosts.uc

    def regions(self, bucket: str) -> list[RegionHosts]:
        """The bucket's regions from uc, cached for their ttl."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(bucket)
            if cached and cached[0] > now:
                return cached[1]
        if self._uc is None:
            raise errors.BadRequest("no uc configured to look up the bucket's region")
        regions = self._uc.query_region(bucket)
        ttl = min(r.ttl for r in regions) if regions else 0
        with self._lock:
            self._cache[bucket] = (now + max(ttl, 0), regions)
        return regions

    def candidates(self, service: Service, bucket: str | None = None,
                   upload_host: str | None = None) -> tuple[str, ...]:
        """Base URLs to try, in order, for ``service`` (``bucket`` for region lookup)."""
        if service == "up":
            if upload_host:
                return (upload_host.rstrip("/") if "://" in upload_host
                        else f"{self.hosts.scheme}://{upload_host}",)
            if self.hosts.up_override:
                return self.hosts.up_override
        explicit = self.hosts.explicit(service)
        if explicit:
            return explicit
        if not self.hosts.query_region or service in ("uc", "fusion"):
            raise errors.BadRequest(f"no {service} host configured")
        if not bucket:
            raise errors.BadRequest(f"a bucket is needed to find the {service} hosts through uc")
        found: list[str] = []
        for region in self.regions(bucket):
            if service == "up" and self.hosts.accelerate:
                found.extend(region.up_acc)
            found.extend(region.hosts(service))
        unique = tuple(dict.fromkeys(found))
        if not unique:
            raise errors.BadRequest(f"uc lists no {service} host for bucket {bucket!r}")
        return unique
