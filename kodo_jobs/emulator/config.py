"""The emulator's configuration: one frozen value, validated once, passed to every layer.

Bucket strings are ``NAME[:private][@REGION]`` (the CLI's ``--bucket``; region z0 unless
named), domain strings ``BUCKET=HOST`` (``--domain``). ``proxy_port`` set (0 picks one) turns on
"Kodo's internet" (``proxy.py``); ``latency`` delays every answer. The secret key is masked in
``repr`` so a config can be logged safely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kodo_jobs.emulator.regions import DEFAULT_REGION, REGIONS, kodo_host
from kodo_jobs.naming import bucket_problem

_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
MAX_LATENCY = 10.0


@dataclass(frozen=True)
class BucketSpec:
    """A bucket to create at start-up."""

    name: str
    private: bool = False
    region: str = DEFAULT_REGION
    accelerate: bool = False
    """Transfer acceleration configured (uploads accepted on its acceleration domain)."""


def parse_region(region: str, what: str) -> str:
    """A known region id, or ``ValueError`` listing the known ones."""
    if region not in REGIONS:
        raise ValueError(f"{what}: unknown region {region!r}; known regions: {', '.join(REGIONS)}")
    return region


def parse_bucket(spec: str) -> BucketSpec:
    """Parse ``NAME[:private|:public][:accelerate][@REGION]``; ``ValueError`` with the fix otherwise."""
    head, at, region = spec.partition("@")
    name, *flags = head.split(":")
    for flag in flags:
        if flag not in ("private", "public", "accelerate"):
            raise ValueError(f"bucket {spec!r}: a suffix must be ':private', ':public' or ':accelerate', not {flag!r}")
    problem = bucket_problem(name)  # Kodo's own rule: no other name can exist there
    if problem is not None:
        raise ValueError(f"bucket {problem}")
    if at:
        parse_region(region, f"bucket {spec!r}")
    return BucketSpec(name=name, private="private" in flags, region=region if at else DEFAULT_REGION,
                      accelerate="accelerate" in flags)


def parse_domain(spec: str) -> tuple[str, str]:
    """Parse ``BUCKET=HOST`` into (bucket, lower-case host); ``ValueError`` with the fix otherwise."""
    bucket, sep, host = spec.partition("=")
    host = host.strip().lower().rstrip(".")
    if not sep or bucket_problem(bucket) is not None:
        raise ValueError(f"domain {spec!r}: write BUCKET=HOST, e.g. photos=img.example.com")
    if not _HOST_NAME.match(host):
        raise ValueError(f"domain {spec!r}: {host!r} is not a host name (letters, digits, '-' and dots)")
    if kodo_host(host) is not None:
        raise ValueError(f"domain {spec!r}: {host} is one of Kodo's own service hosts")
    return bucket, host


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the emulator needs to start. ``port=0`` picks a free port."""

    data_dir: Path
    access_key: str
    secret_key: str = field(repr=False)
    buckets: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 0
    fault_rate: float = 0.0
    fault_seed: int = 0
    anti_leech_key: str | None = field(default=None, repr=False)
    auto_create_buckets: bool = False
    domains: tuple[str, ...] = ()
    proxy_port: int | None = None
    latency: float = 0.0
    header_timeout: float = 10.0
    """Seconds a client has to send a request's whole header block (``gate``)."""

    def __post_init__(self) -> None:
        if not self.access_key or ":" in self.access_key:
            raise ValueError("access_key must be non-empty and contain no ':'")
        if not self.secret_key:
            raise ValueError("secret_key must be non-empty")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be within 0..1, not {self.fault_rate}")
        if not self.header_timeout > 0:
            raise ValueError(f"header_timeout must be > 0, not {self.header_timeout}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be within 0..65535, not {self.port}")
        if self.proxy_port is not None and not 0 <= self.proxy_port <= 65535:
            raise ValueError(f"proxy_port must be within 0..65535, not {self.proxy_port}")
        if not 0.0 <= self.latency <= MAX_LATENCY:
            raise ValueError(f"latency must be within 0..{MAX_LATENCY:g} s, not {self.latency}")
        regions: dict[str, str] = {}
        for spec in self.buckets:
            parsed = parse_bucket(spec)
            if regions.setdefault(parsed.name, parsed.region) != parsed.region:
                raise ValueError(f"bucket {parsed.name!r} is given two regions ({regions[parsed.name]}, {parsed.region})")
        names = list(regions)
        owner: dict[str, str] = {}
        for spec in self.domains:
            bucket, host = parse_domain(spec)
            if bucket not in names:
                raise ValueError(f"domain {spec!r}: no bucket {bucket!r} (add --bucket {bucket})")
            if owner.setdefault(host, bucket) != bucket:
                raise ValueError(f"domain {host} is given to two buckets ({owner[host]}, {bucket})")

    @property
    def kodo_internet(self) -> bool:
        """Whether the emulator plays Kodo's internet (a forward proxy with real host names)."""
        return self.proxy_port is not None

    def bucket_specs(self) -> tuple[BucketSpec, ...]:
        """The configured buckets, parsed."""
        return tuple(parse_bucket(s) for s in self.buckets)

    def bucket_domains(self) -> dict[str, tuple[str, ...]]:
        """Bucket name -> its domains, in the order given."""
        out: dict[str, list[str]] = {}
        for spec in self.domains:
            bucket, host = parse_domain(spec)
            if host not in out.setdefault(bucket, []):
                out[bucket].append(host)
        return {b: tuple(h) for b, h in out.items()}
