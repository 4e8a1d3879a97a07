"""Where buckets live on "Kodo's internet": each bucket's region and its domains.

Built from the config at start-up (``--bucket NAME@REGION``, ``--domain BUCKET=HOST``) and kept
in ``EmulatorState.services["network"]``; buckets made at run time (``mkbucketv3``, embedded
auto-create) join with the region they were made in (z0 when none was named). The uc handlers
answer region and domain queries from it; ``hostroute`` routes requests by ``Host`` with it.
"""

from __future__ import annotations

import threading

from kodo_jobs.emulator.config import EmulatorConfig
from kodo_jobs.emulator.context import EmulatorState, RequestContext
from kodo_jobs.emulator.regions import DEFAULT_REGION, REGIONS, Region, kodo_host

SERVICE_KEY = "network"


class BucketNetwork:
    """Bucket -> region and bucket <-> domains; thread-safe for run-time additions."""

    def __init__(self, kodo_internet: bool, regions: dict[str, str], domains: dict[str, tuple[str, ...]],
                 accelerated: frozenset[str] = frozenset()) -> None:
        self.kodo_internet = kodo_internet
        self.accelerated = accelerated
        self._lock = threading.Lock()
        self._regions = dict(regions)
        self._domains = dict(domains)
        self._by_domain = {host: bucket for bucket, hosts in domains.items() for host in hosts}

    @classmethod
    def from_config(cls, config: EmulatorConfig) -> BucketNetwork:
        """The network a config describes."""
        regions = {spec.name: spec.region for spec in config.bucket_specs()}
        accelerated = frozenset(spec.name for spec in config.bucket_specs() if spec.accelerate)
        return cls(config.kodo_internet, regions, config.bucket_domains(), accelerated)

    def region_of(self, bucket: str) -> Region:
        """The bucket's region (z0 for buckets nobody placed)."""
        with self._lock:
            return REGIONS[self._regions.get(bucket, DEFAULT_REGION)]

    def place(self, bucket: str, region: str) -> None:
        """Record the region of a bucket made at run time (the first placement wins)."""
        with self._lock:
            self._regions.setdefault(bucket, region)

    def domains_of(self, bucket: str) -> tuple[str, ...]:
        """The bucket's domains (maybe none)."""
        with self._lock:
            return self._domains.get(bucket, ())

    def bucket_of_domain(self, host: str) -> str | None:
        """The bucket a domain serves, or None."""
        with self._lock:
            return self._by_domain.get(host.lower().rstrip("."))

    def all_domains(self) -> frozenset[str]:
        """Every configured bucket domain."""
        with self._lock:
            return frozenset(self._by_domain)


def request_host(ctx: RequestContext) -> str:
    """The host name the client addressed, lower-case, without the port."""
    host = ctx.host().lower()
    if host.startswith("["):  # an IPv6 literal: never a Kodo name
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if ":" in host else host


def speaks_kodo(ctx: RequestContext) -> bool:
    """Whether to answer with Kodo's real host names: the emulator plays Kodo's internet and
    the client addressed one of Kodo's hosts (a client of the plain base URL keeps getting
    the base URL, so both kinds of client work against one emulator)."""
    return network_of(ctx.emulator).kodo_internet and kodo_host(request_host(ctx)) is not None


def install(state: EmulatorState) -> BucketNetwork:
    """Create the state's network from its config (called by ``server.build_app``)."""
    network = BucketNetwork.from_config(state.config)
    state.services[SERVICE_KEY] = network
    return network


def network_of(state: EmulatorState) -> BucketNetwork:
    """The state's network (created on first use for states built without ``build_app``)."""
    network = state.services.get(SERVICE_KEY)
    if isinstance(network, BucketNetwork):
        return network
    return install(state)
