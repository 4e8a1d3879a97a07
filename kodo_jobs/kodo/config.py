"""Immutable configuration values of the Kodo client: credentials, service hosts, timeouts.

They are validated once, in their constructors, and injected into the client; nothing in
``kodo/`` reads global configuration. The secret key never appears in a ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

Service = Literal["up", "io", "rs", "rsf", "api", "uc", "fusion"]
SERVICES: tuple[Service, ...] = ("up", "io", "rs", "rsf", "api", "uc", "fusion")

UC_HOSTS: tuple[str, ...] = (
    "https://uc.qiniuapi.com",
    "https://kodo-config.qiniuapi.com",
    "https://uc.qbox.me",
)
FUSION_HOSTS: tuple[str, ...] = ("https://fusion.qiniuapi.com",)


@dataclass(frozen=True, slots=True)
class Credentials:
    """An AccessKey/SecretKey pair. ``repr`` masks the secret so it never reaches a log."""

    access_key: str
    secret_key: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.access_key or not self.secret_key:
            raise ValueError("access key and secret key must both be non-empty")
        if ":" in self.access_key:
            # the upload token and Authorization headers use ':' as separator
            raise ValueError("access key must not contain ':'")

    def __repr__(self) -> str:
        return f"Credentials(access_key={self.access_key!r}, secret_key='***')"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Connect and read timeouts in seconds; every request carries both."""

    connect: float = 10.0
    read: float = 120.0

    def __post_init__(self) -> None:
        if self.connect <= 0 or self.read <= 0:
            raise ValueError("timeouts must be positive")

    def as_tuple(self) -> tuple[float, float]:
        """The ``(connect, read)`` pair that ``requests`` expects."""
        return (self.connect, self.read)


def _base_url(url: str, default_scheme: str = "https") -> str:
    """Normalise ``host[:port]`` or ``scheme://host[:port][/]`` to ``scheme://host[:port]``."""
    if "://" not in url:
        url = f"{default_scheme}://{url}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not a usable base URL: {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"a base URL has no path or query: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _urls(values: tuple[str, ...] | list[str] | str, scheme: str = "https") -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    return tuple(_base_url(v, scheme) for v in values)


@dataclass(frozen=True, slots=True)
class Hosts:
    """Where each Kodo service lives: base URLs tried in order (the first is primary).

    A service with no explicit hosts is looked up through uc ``/v4/query`` for the bucket
    concerned (when ``query_region`` is true); ``up_override`` replaces the upload hosts
    (transfer acceleration or a pinned upload host); ``accelerate`` prefers the bucket's
    ``up.acc_domains`` from uc (asked of uc even when the upload hosts are fixed). ``region`` names
    a fixed region (for messages); ``one_endpoint`` marks one base URL serving everything (the emulator).
    """

    up: tuple[str, ...] = ()
    io: tuple[str, ...] = ()
    rs: tuple[str, ...] = ()
    rsf: tuple[str, ...] = ()
    api: tuple[str, ...] = ()
    uc: tuple[str, ...] = UC_HOSTS
    fusion: tuple[str, ...] = FUSION_HOSTS
    up_override: tuple[str, ...] = ()
    query_region: bool = True
    accelerate: bool = False
    scheme: str = "https"
    region: str = ""
    one_endpoint: bool = False

    def __post_init__(self) -> None:
        if self.scheme not in ("http", "https"):
            raise ValueError("scheme must be http or https")
        for name in (*SERVICES, "up_override"):
            object.__setattr__(self, name, _urls(getattr(self, name), self.scheme))
        if not self.uc and self.query_region:
            raise ValueError("query_region needs at least one uc host")

    def explicit(self, service: Service) -> tuple[str, ...]:
        """The configured base URLs of ``service`` (empty: ask uc)."""
        hosts: tuple[str, ...] = getattr(self, service)
        return hosts

    @classmethod
    def single(cls, url: str) -> Hosts:
        """One base URL for every service (the emulator, or a Kodo-compatible gateway)."""
        base = _base_url(url, "http")
        one = (base,)
        return cls(up=one, io=one, rs=one, rsf=one, api=one, uc=one, fusion=one,
                   query_region=False, scheme=urlsplit(base).scheme, one_endpoint=True)

    @classmethod
    def for_region(cls, region_id: str, *, scheme: str = "https") -> Hosts:
        """The well-known hosts of a Kodo region (``z0``, ``z1``, ``z2``, ``na0``, ``as0``...)."""
        if not region_id or "/" in region_id:
            raise ValueError(f"bad region id {region_id!r}")
        if region_id == "z0":
            up = ("upload.qiniup.com", "up.qiniup.com")
            io = ("iovip.qiniuio.com",)
        else:
            up = (f"upload-{region_id}.qiniup.com", f"up-{region_id}.qiniup.com")
            io = (f"iovip-{region_id}.qiniuio.com",)
        return cls(
            up=up, io=io,
            rs=(f"rs-{region_id}.qiniuapi.com",),
            rsf=(f"rsf-{region_id}.qiniuapi.com",),
            api=(f"api-{region_id}.qiniuapi.com",),
            query_region=False, scheme=scheme, region=region_id,
        )

    def with_upload_override(self, *urls: str) -> Hosts:
        """A copy whose uploads go to ``urls`` (e.g. an acceleration domain)."""
        return replace(self, up_override=tuple(urls))
