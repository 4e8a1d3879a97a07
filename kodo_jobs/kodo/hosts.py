"""Which base URLs serve a request: explicit hosts, or a region found through uc, cached.

Order of precedence per service: ``Hosts.up_override`` (uploads only) > explicit hosts of
``Hosts`` > the bucket's region from uc ``/v4/query`` (cached per bucket for its ``ttl``, in
memory and, once :meth:`HostResolver.persist` was given a store, in the state file so that the
next run within the ttl does not ask again; then the fall-back regions' hosts). With
``Hosts.accelerate`` the bucket's ``up.acc_domains`` come first for uploads, until Kodo says
acceleration is not configured on the bucket.

:meth:`HostResolver.call` runs one request against the candidates and handles Kodo's two
host-level answers the way the official SDK does: "incorrect region" (ask uc again when the
hosts came from uc; otherwise stop with a message naming the bucket's region) and "transfer
acceleration is not configured" (go on with the normal upload hosts).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from . import errors
from .config import Hosts, Service
from .regions import region_of_host
from .uc import RegionHosts, UcApi

T = TypeVar("T")
_KEY_PREFIX = "uc-query:"


class ValueStore(Protocol):
    """Where uc answers outlive the process (the state file's key/value table)."""

    def get_value(self, key: str) -> str | None: ...

    def set_value(self, key: str, value: str | None) -> None: ...


class ReadOnlyStore:
    """A store's answers without writes (``plan`` and dry runs read the state file, never write)."""

    def __init__(self, store: ValueStore | None) -> None:
        self._store = store

    def get_value(self, key: str) -> str | None:
        """The stored value, if any."""
        return self._store.get_value(key) if self._store is not None else None

    def set_value(self, key: str, value: str | None) -> None:
        """Dropped: a plan changes nothing."""


def _dump(regions: list[RegionHosts], expires: float) -> str:
    return json.dumps({"expires": expires, "regions": [
        {"region": r.region, "ttl": r.ttl, "services": {k: list(v) for k, v in r.services.items()},
         "up_acc": list(r.up_acc)} for r in regions]})


def _load(text: str) -> tuple[float, list[RegionHosts]] | None:
    """A stored answer, or None when it is unreadable (then uc is asked again)."""
    try:
        data = json.loads(text)
        regions = [RegionHosts(region=str(r["region"]), ttl=int(r["ttl"]),
                               services={str(k): tuple(str(h) for h in v) for k, v in r["services"].items()},
                               up_acc=tuple(str(h) for h in r["up_acc"])) for r in data["regions"]]
        return float(data["expires"]), regions
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class HostResolver:
    """Thread-safe host lookup with a per-bucket region cache."""

    def __init__(self, hosts: Hosts, uc: UcApi | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.hosts = hosts
        self._uc = uc
        self._clock = clock
        self._wall = wall_clock
        # bucket -> (expiry on self._clock, regions, generation)
        self._cache: dict[str, tuple[float, list[RegionHosts], int]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}
        self._no_acc: set[str] = set()
        self._store: ValueStore | None = None
        self._scope = ""
        self.queries = 0
        """uc ``/v4/query`` requests sent (tests and logs)."""

    def attach(self, uc: UcApi) -> None:
        """Set the uc API (it needs the resolver's uc hosts, hence the two-step wiring)."""
        self._uc = uc

    def persist(self, store: ValueStore | None, account: str) -> None:
        """Keep uc answers in ``store`` too (keyed by uc hosts, account and bucket, hashed)."""
        self._store = store
        self._scope = hashlib.sha256(f"{'|'.join(self.hosts.uc)}\x1f{account}".encode()).hexdigest()

    def uc_hosts(self) -> tuple[str, ...]:
        """Base URLs of uc (never looked up: uc is global)."""
        return self.hosts.uc

    def _store_key(self, bucket: str) -> str:
        return _KEY_PREFIX + hashlib.sha256(f"{self._scope}\x1f{bucket}".encode()).hexdigest()[:32]

    def _cached(self, bucket: str) -> tuple[list[RegionHosts], int] | None:
        now = self._clock()
        with self._lock:
            found = self._cache.get(bucket)
            if found and found[0] > now:
                return found[1], found[2]
        if self._store is None:
            return None
        text = self._store.get_value(self._store_key(bucket))
        loaded = _load(text) if text else None
        if loaded is None:
            return None
        expires, regions = loaded
        left = expires - self._wall()
        if left <= 0:
            return None
        with self._lock:
            self._generation += 1
            self._cache[bucket] = (now + left, regions, self._generation)
            return regions, self._generation

    def _lookup(self, bucket: str) -> tuple[list[RegionHosts], int]:
        """The bucket's regions and their generation: from a cache, else from uc (one query per
        bucket at a time: threads that miss together wait for the first one's answer)."""
        cached = self._cached(bucket)
        if cached:
            return cached
        with self._lock:
            gate = self._fetching.setdefault(bucket, threading.Lock())
        with gate:
            cached = self._cached(bucket)
            if cached:
                return cached
            if self._uc is None:
                raise errors.BadRequest("no uc configured to look up the bucket's region")
            now, wall = self._clock(), self._wall()
            regions = self._uc.query_region(bucket)
            ttl = max(min(r.ttl for r in regions) if regions else 0, 0)
            with self._lock:
                self.queries += 1
                self._generation += 1
                self._cache[bucket] = (now + ttl, regions, self._generation)
                generation = self._generation
            if self._store is not None and ttl > 0:
                self._store.set_value(self._store_key(bucket), _dump(regions, wall + ttl))
            return regions, generation

    def regions(self, bucket: str) -> list[RegionHosts]:
        """The bucket's regions from uc, cached for their ttl."""
        return self._lookup(bucket)[0]

    def forget(self, bucket: str, generation: int | None = None) -> None:
        """Drop the bucket's cached uc answer (only that ``generation``'s, when given, so threads
        that failed on the same stale answer trigger one new query, not one each)."""
        with self._lock:
            found = self._cache.get(bucket)
            if found is None or (generation is not None and found[2] != generation):
                return
            del self._cache[bucket]
        if self._store is not None:
            self._store.set_value(self._store_key(bucket), None)

    def _from_uc(self, service: Service, upload_host: str | None) -> bool:
        """``service``'s hosts come from uc (so asking uc again can change them)."""
        if service == "up" and (upload_host or self.hosts.up_override):
            return False
        return not self.hosts.explicit(service) and self.hosts.query_region

    def candidates(self, service: Service, bucket: str | None = None,
                   upload_host: str | None = None) -> tuple[str, ...]:
        """Base URLs to try, in order, for ``service`` (``bucket`` for region lookup)."""
        return self._candidates(service, bucket, upload_host)[0]

    def _candidates(self, service: Service, bucket: str | None,
                    upload_host: str | None) -> tuple[tuple[str, ...], int | None, bool]:
        """Base URLs, the generation of the uc answer they came from, and whether acceleration
        domains lead them."""
        if service == "up":
            if upload_host:
                return (upload_host.rstrip("/") if "://" in upload_host
                        else f"{self.hosts.scheme}://{upload_host}",), None, False
            if self.hosts.up_override:
                return self.hosts.up_override, None, False
        accelerate = service == "up" and self.hosts.accelerate and bucket not in self._no_acc
        explicit = self.hosts.explicit(service)
        if explicit and not accelerate:
            return explicit, None, False
        if not explicit and (not self.hosts.query_region or service in ("uc", "fusion")):
            raise errors.BadRequest(f"no {service} host configured")
        if not bucket:
            raise errors.BadRequest(f"a bucket is needed to find the {service} hosts through uc")
        regions, generation = self._lookup(bucket)
        found: list[str] = []
        if accelerate:
            for region in regions:
                found.extend(region.up_acc)
            accelerate = bool(found)
        if explicit:
            found.extend(explicit)
        else:
            for region in regions:
                found.extend(region.hosts(service))
        unique = tuple(dict.fromkeys(found))
        if not unique:
            raise errors.BadRequest(f"uc lists no {service} host for bucket {bucket!r}")
        return unique, generation, accelerate

    def call(self, service: Service, bucket: str, send: Callable[[tuple[str, ...]], T],
             upload_host: str | None = None) -> T:
        """``send(candidates)``, again with new hosts after "incorrect region" (hosts from uc:
        uc is asked again, once) or "acceleration not configured" (normal upload hosts).

        With fixed hosts, "incorrect region" raises :class:`~.errors.WrongRegion` naming the
        bucket's region: a run-fatal error, since every request for the bucket would fail."""
        requeried = False
        while True:
            hosts, generation, accelerated = self._candidates(service, bucket, upload_host)
            try:
                return send(hosts)
            except errors.AccelerationUnavailable:
                if not accelerated:  # the normal hosts said it: nothing left to fall back to
                    raise
                with self._lock:  # for every later upload of the bucket, and this one again
                    self._no_acc.add(bucket)
            except errors.WrongRegion as exc:
                if requeried or not self._from_uc(service, upload_host):
                    raise self._wrong_region(bucket, exc, requeried) from exc
                requeried = True
                self.forget(bucket, generation)

    def _wrong_region(self, bucket: str, exc: errors.WrongRegion, requeried: bool) -> errors.WrongRegion:
        theirs = region_of_host(exc.use_host)
        where = f"region {theirs}" if theirs else f"another region (Kodo says: use {exc.use_host})"
        if requeried:
            advice = "uc was asked again and still names hosts Kodo refuses; check `hosts.uc`"
        elif self.hosts.region:
            fix = f"`region: {theirs}`" if theirs else "the bucket's region"
            advice = f"the target says `region: {self.hosts.region}`; set {fix} or `region: auto`"
        else:
            advice = "the target's hosts do not serve it; fix `hosts:`/`upload_host` or use `region: auto`"
        return errors.WrongRegion(f"bucket {bucket!r} is in {where}: {advice}", use_host=exc.use_host,
                                  status=exc.status, reqid=exc.reqid, method=exc.method, url=exc.url)
