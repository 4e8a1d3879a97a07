"""``target:``: where the jobs run (embedded emulator, one endpoint, a region, explicit hosts) and as whom.

Naming none of ``embedded``, ``endpoint``, ``region`` or ``hosts`` means ``region: auto``: each
bucket's hosts are asked of Qiniu's uc (``/v4/query``), as the official SDKs do by default.
"""

from __future__ import annotations

from typing import Self
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator

from kodo_jobs.kodo.regions import AUTO, REGIONS
from kodo_jobs.manifest.base import Model
from kodo_jobs.manifest.spec_common import BucketName
from kodo_jobs.manifest.suggest import did_you_mean
from kodo_jobs.manifest.types import Duration


class ServiceHosts(Model):
    """One URL per Kodo service, for a private deployment or a gateway with per-service hosts.

    Either all of up, io, rs, rsf and api, or ``uc`` alone (the others are then asked of it
    per bucket, as with ``region: auto``)."""

    up: AnyHttpUrl | None = None
    """Upload service (form and resumable uploads)."""
    io: AnyHttpUrl | None = None
    """io service: fetch, prefetch and downloads."""
    rs: AnyHttpUrl | None = None
    """Resource management (stat, move, copy, delete, chtype, batch...)."""
    rsf: AnyHttpUrl | None = None
    """Listing service."""
    api: AnyHttpUrl | None = None
    """api service: pfop, prefop status, async fetch."""
    uc: AnyHttpUrl | None = None
    """Bucket/region configuration service (default: Qiniu's public uc)."""
    fusion: AnyHttpUrl | None = None
    """CDN service (default: Qiniu's public fusion host)."""

    @model_validator(mode="after")
    def _complete(self) -> Self:
        missing = [n for n in ("up", "io", "rs", "rsf", "api") if getattr(self, n) is None]
        if missing and (self.uc is None or len(missing) < 5):
            raise ValueError(f"missing {', '.join(missing)}: give all of up, io, rs, rsf and api, "
                             "or only uc (the others are then asked of uc per bucket)")
        return self


class Timeouts(Model):
    """HTTP timeouts of every request the client sends."""

    connect: Duration = 10.0
    """Time to establish a connection."""
    read: Duration = 60.0
    """Time to wait for response bytes."""


class Target(Model):
    """Where and as whom: exactly one of ``embedded``, ``endpoint``, ``region`` or ``hosts``."""

    embedded: bool = False
    """Run against the in-process emulator (data under ``.kodo-jobs/`` beside the manifest)."""
    mirrors: dict[BucketName, str] = Field(default_factory=dict)
    """Embedded only: a bucket's mirror origin (``http://127.0.0.1:PORT/base/``, loopback), as
    the Kodo console sets it on a real bucket; lets ``fetch`` with ``prefetch: true`` run."""
    endpoint: AnyHttpUrl | None = None
    """One URL for every service (an emulator started by hand, a Kodo-compatible gateway)."""
    region: str | None = None
    """``auto`` (ask uc per bucket; the default) or a Qiniu region id: z0, cn-east-2, z1, z2, na0, as0..."""
    hosts: ServiceHosts | None = None
    """Explicit per-service hosts."""
    access_key: SecretStr | None = None
    """Access key (usually ``${QINIU_ACCESS_KEY}``); required unless embedded."""
    secret_key: SecretStr | None = None
    """Secret key (usually ``${QINIU_SECRET_KEY}``); required unless embedded. Never printed."""
    upload_host: AnyHttpUrl | None = None
    """Override the upload host, e.g. a bucket's transfer-acceleration domain."""
    accelerate_uploading: bool = False
    """Upload through the bucket's acceleration domains (from uc) first, the normal hosts after."""
    use_https: bool = True
    """Use https for hosts derived from ``region`` (explicit URLs keep their own scheme)."""
    timeouts: Timeouts = Timeouts()
    """Connect/read timeouts."""
    proxy: str | None = None
    """Proxy for every request, ``http://[user:password@]host:port``; replaces ``HTTP_PROXY``,
    ``HTTPS_PROXY`` and ``NO_PROXY`` (which apply when this is unset). Credentials in it are
    masked in every log line, report and plan."""
    ca_bundle: str | None = None
    """PEM file of the CAs to trust for https (relative to the manifest); default
    ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE``, else certifi. Verification cannot be turned off."""
    sign_date: bool | None = None
    """Send and sign ``X-Qiniu-Date``; unset: yes unless ``DISABLE_QINIU_TIMESTAMP_SIGNATURE=true``
    (the official SDK's switch)."""

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
                or parts.query or parts.fragment:
            raise ValueError("a proxy URL is http://[user:password@]host:port (or https://), without a path")
        return value

    @field_validator("mirrors")
    @classmethod
    def _loopback_origins(cls, value: dict[str, str]) -> dict[str, str]:
        for bucket, origin in value.items():
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or parts.hostname not in ("127.0.0.1", "localhost", "::1") \
                    or not parts.path.endswith("/") or parts.query or parts.fragment:
                raise ValueError(f"mirrors.{bucket}: an embedded mirror origin is a loopback URL ending "
                                 f"with '/', e.g. http://127.0.0.1:8000/ (got {origin!r})")
        return value

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is None or value == AUTO or value in REGIONS:
            return value
        raise ValueError(f"unknown region {value!r}{did_you_mean(value, [AUTO, *REGIONS])} "
                         f"(known: {AUTO}, {', '.join(REGIONS)}; a private deployment uses `hosts:`)")

    @model_validator(mode="after")
    def _one_place(self) -> Self:
        chosen = [n for n, v in (("embedded", self.embedded), ("endpoint", self.endpoint),
                                 ("region", self.region), ("hosts", self.hosts)) if v]
        if len(chosen) > 1:
            raise ValueError(f"set exactly one of embedded: true, endpoint, region or hosts "
                             f"(got {', '.join(chosen)})")
        if self.mirrors and not self.embedded:
            raise ValueError("mirrors: only applies to embedded: true (set a real bucket's mirror "
                             "origin in the Kodo console)")
        if not self.embedded:
            missing = [n for n in ("access_key", "secret_key") if getattr(self, n) is None]
            if missing:
                raise ValueError(
                    f"{' and '.join(missing)} required unless embedded "
                    "(e.g. access_key: ${QINIU_ACCESS_KEY})"
                )
        return self

    @property
    def region_auto(self) -> bool:
        """Each bucket's hosts come from uc: ``region: auto``, or no place named at all."""
        return self.region == AUTO or not (self.embedded or self.endpoint or self.region or self.hosts)
