"""Kodo's public host names: one plain data table, per region and global.

This is data, not code shared with the client: the emulator uses it to answer uc's
``/v4/query`` with real host names, to decide which hosts its forward proxy may serve, and to
route requests by ``Host`` as Kodo does. Tests read it to check the client's own table agrees.

Sources: ``qiniu.http.region.Region.from_region_id`` (qiniu 7.18.0: ``upload[-<r>].qiniup.com``,
``up[-<r>].qiniup.com``, ``iovip[-<r>].qiniuio.com``, ``rs-<r>``/``rsf-<r>``/``api-<r>.qiniuapi.com``),
``qiniu.config`` (``uc.qiniuapi.com`` with backups ``kodo-config.qiniuapi.com`` and
``uc.qbox.me``; the legacy global ``rs.qiniu.com``, ``rsf.qbox.me``, ``api.qiniuapi.com`` that
pfop still uses), ``CdnManager.server`` (``fusion.qiniuapi.com``) and Kodo's region list
(developer.qiniu.com/kodo/1671). Transfer-acceleration upload domains are per bucket:
``<bucket>.kodo-accelerate.<s3 region>.qiniucs.com``.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_REGION = "z0"
TTL = 86400
"""Seconds a client may cache a uc answer (what Kodo sends)."""

UC_HOSTS: tuple[str, ...] = ("uc.qiniuapi.com", "kodo-config.qiniuapi.com", "uc.qbox.me")
FUSION_HOSTS: tuple[str, ...] = ("fusion.qiniuapi.com",)
GLOBAL_RS_HOSTS: tuple[str, ...] = ("rs.qiniu.com", "rs.qbox.me")
GLOBAL_RSF_HOSTS: tuple[str, ...] = ("rsf.qiniu.com", "rsf.qbox.me")
GLOBAL_API_HOSTS: tuple[str, ...] = ("api.qiniuapi.com", "api.qiniu.com")
ACCELERATE_SUFFIX = ".kodo-accelerate.{alias}.qiniucs.com"


@dataclass(frozen=True)
class Region:
    """One Kodo region: its id, its S3 alias and the host names of each service."""

    id: str
    s3_alias: str
    description: str
    up: tuple[str, ...]
    up_old: tuple[str, ...]
    io: tuple[str, ...]
    rs: tuple[str, ...]
    rsf: tuple[str, ...]
    api: tuple[str, ...]

    @property
    def s3(self) -> tuple[str, ...]:
        """The S3-compatible endpoint (named in uc answers, not served by the emulator)."""
        return (f"s3.{self.s3_alias}.qiniucs.com",)

    @property
    def incorrect_region_host(self) -> str:
        """The host Kodo names in ``incorrect region, please use HOST``."""
        return f"up-{self.id}.qiniup.com"

    def accelerate_host(self, bucket: str) -> str:
        """The transfer-acceleration upload domain of ``bucket`` in this region."""
        return bucket + ACCELERATE_SUFFIX.format(alias=self.s3_alias)


def _region(rid: str, alias: str, description: str) -> Region:
    up_old: tuple[str, ...]
    if rid == "z0":
        up = ("upload.qiniup.com", "up.qiniup.com")
        up_old = ("upload-z0.qiniup.com", "up-z0.qiniup.com", "upload.qbox.me", "up.qbox.me")
        io: tuple[str, ...] = ("iovip.qiniuio.com", "iovip-z0.qiniuio.com")
    else:
        up = (f"upload-{rid}.qiniup.com", f"up-{rid}.qiniup.com")
        up_old = ()
        io = (f"iovip-{rid}.qiniuio.com",)
    return Region(
        id=rid, s3_alias=alias, description=description, up=up, up_old=up_old, io=io,
        rs=(f"rs-{rid}.qiniuapi.com",), rsf=(f"rsf-{rid}.qiniuapi.com",), api=(f"api-{rid}.qiniuapi.com",),
    )


REGIONS: dict[str, Region] = {
    r.id: r
    for r in (
        _region("z0", "cn-east-1", "East China (Zhejiang)"),
        _region("cn-east-2", "cn-east-2", "East China (Zhejiang 2)"),
        _region("z1", "cn-north-1", "North China (Hebei)"),
        _region("z2", "cn-south-1", "South China (Guangdong)"),
        _region("na0", "us-north-1", "North America (Los Angeles)"),
        _region("as0", "ap-southeast-1", "Asia Pacific (Singapore)"),
        _region("ap-southeast-2", "ap-southeast-2", "Asia Pacific (Hanoi)"),
        _region("ap-southeast-3", "ap-southeast-3", "Asia Pacific (Ho Chi Minh)"),
        _region("ap-northeast-1", "ap-northeast-1", "Asia Pacific (Seoul)"),
    )
}

SERVICES = ("up", "io", "rs", "rsf", "api", "uc", "fusion")


@dataclass(frozen=True)
class HostKind:
    """What a Kodo host name serves: a service, and the region when the host is regional."""

    service: str
    region: str | None = None


def _host_index() -> dict[str, HostKind]:
    index: dict[str, HostKind] = {}
    for region in REGIONS.values():
        for service, hosts in (("up", region.up + region.up_old), ("io", region.io), ("rs", region.rs),
                               ("rsf", region.rsf), ("api", region.api)):
            for host in hosts:
                index[host] = HostKind(service, region.id)
    for service, hosts in (("uc", UC_HOSTS), ("fusion", FUSION_HOSTS), ("rs", GLOBAL_RS_HOSTS),
                           ("rsf", GLOBAL_RSF_HOSTS), ("api", GLOBAL_API_HOSTS)):
        for host in hosts:
            index[host] = HostKind(service)
    return index


HOSTS: dict[str, HostKind] = _host_index()
"""Every public Kodo host name the emulator serves, with what it serves."""


def kodo_host(name: str) -> HostKind | None:
    """The service of a public Kodo host name (case-insensitive, no port), or None.

    Transfer-acceleration domains (``<bucket>.kodo-accelerate.<alias>.qiniucs.com``) are
    upload hosts of the region whose alias they name.
    """
    name = name.lower().rstrip(".")
    kind = HOSTS.get(name)
    if kind is not None:
        return kind
    bucket, sep, rest = name.partition(".kodo-accelerate.")
    if sep and bucket and rest.endswith(".qiniucs.com"):
        alias = rest[: -len(".qiniucs.com")]
        for region in REGIONS.values():
            if region.s3_alias == alias:
                return HostKind("up", region.id)
    return None


def is_accelerate_host(name: str) -> bool:
    """Whether ``name`` is a transfer-acceleration upload domain."""
    return ".kodo-accelerate." in name.lower()


def region_ids() -> tuple[str, ...]:
    """Known region ids, in table order."""
    return tuple(REGIONS)
