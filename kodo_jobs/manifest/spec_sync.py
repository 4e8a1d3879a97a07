"""``kind: sync``: mirror a local folder and a bucket prefix (upload or download)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AnyHttpUrl, Field, SecretStr, model_validator

from kodo_jobs.manifest.base import Model
from kodo_jobs.manifest.spec_common import BucketName, JobBase, PrefixText, SoftDelete
from kodo_jobs.manifest.spec_pfop import FopText
from kodo_jobs.manifest.types import Duration, Limit, LocalPath
from kodo_jobs.manifest.upload import UploadOptions


class CdnRefreshThen(Model):
    """After the sync, refresh on the CDN the URLs of the objects it changed."""

    base_url: AnyHttpUrl
    """CDN URL that serves the bucket; object URL = base_url + key."""
    private: bool = False
    """The CDN domain is private (timestamp anti-leech); refresh the bare URLs anyway."""
    urls_per_request: Annotated[int, Field(ge=1, le=100)] = 60
    """URLs per refresh request (the service allows 60 by default; some accounts more)."""


class PfopThen(Model):
    """After the sync, run persistent processing on the objects it uploaded."""

    fops: Annotated[tuple[FopText, ...], Field(min_length=1)]
    """Fops per object; $(bucket) $(key) $(dir) $(fname) $(stem) $(ext) are replaced per key."""
    pipeline: str | None = None
    """Processing queue."""
    notify_url: AnyHttpUrl | None = None
    """URL receiving each result."""
    force: bool = False
    """Overwrite existing saveas targets."""
    type: Literal[0, 1] = 0
    """1 = idle-time processing."""


class Then(Model):
    """Follow-up work on exactly what a sync changed."""

    cdn_refresh: CdnRefreshThen | None = None
    """Refresh changed objects' URLs on the CDN."""
    pfop: PfopThen | None = None
    """Process uploaded objects."""

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.cdn_refresh is None and self.pfop is None:
            raise ValueError("set cdn_refresh and/or pfop")
        return self


class DownloadOptions(Model):
    """How a download sync builds URLs (private buckets, timestamp anti-leech CDN domains)."""

    base_url: AnyHttpUrl | None = None
    """Domain serving the bucket (default: one of the bucket's domains, asked of uc; see
    docs/running-against-qiniu.md for which one)."""
    anti_leech_key: SecretStr | None = None
    """CDN timestamp anti-leech key: sign URLs with sign/t instead of a private token."""
    url_ttl: Duration = 3600.0
    """Lifetime of signed download URLs."""


class SyncJob(JobBase):
    """Make a bucket prefix look like a local folder (``direction: upload``) or the reverse."""

    kind: Literal["sync"]
    """Job kind."""
    source: LocalPath
    """Local folder (relative to the manifest)."""
    bucket: BucketName
    """Destination (or, for downloads, source) bucket."""
    prefix: PrefixText = ""
    """Key prefix that mirrors the folder (``site/``)."""
    include: tuple[str, ...] = ()
    """Only these paths (gitignore-style globs); empty = everything."""
    exclude: tuple[str, ...] = ()
    """Never these paths (gitignore-style globs, e.g. ``**/.DS_Store``)."""
    compare: Literal["etag", "size", "size-mtime"] = "etag"
    """How an existing object is judged unchanged."""
    delete: bool = False
    """Delete extra objects (mirror), guarded by max_delete."""
    max_delete: Limit | None = None
    """Refuse the delete phase above this many (or this share, "10%") of deletions."""
    upload_once: bool = False
    """Upload each local file version (size, mtime) at most once, recorded in the state file:
    objects that other jobs moved or deleted are not brought back (a seed). Not with delete."""
    follow_symlinks: bool = False
    """Follow symbolic links while walking the folder."""
    direction: Literal["upload", "download"] = "upload"
    """upload = local -> bucket; download = bucket -> local."""
    soft_delete: SoftDelete | None = None
    """Make deletes reversible."""
    upload: UploadOptions = UploadOptions()
    """Upload options and put policy."""
    then: Then | None = None
    """Follow-up work on what changed."""
    private: bool = False
    """Downloads use signed URLs (private bucket)."""
    download: DownloadOptions = DownloadOptions()
    """How downloads build their URLs."""

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.prefix.startswith("/"):
            raise ValueError(f"prefix must not start with '/' (got {self.prefix!r})")
        if self.soft_delete is not None and not self.delete:
            raise ValueError("soft_delete needs delete: true")
        if self.upload_once and (self.delete or self.direction == "download"):
            raise ValueError("upload_once: true cannot go with delete: true or direction: download "
                             "(a seed uploads each file once; a mirror keeps the bucket equal to the folder)")
        if self.direction == "download" and self.then is not None:
            raise ValueError("then: only applies to direction: upload")
        return self
