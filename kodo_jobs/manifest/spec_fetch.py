"""``kind: fetch``: have Kodo download URLs into a bucket (sync or async fetch), or mirror-prefetch keys."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AnyHttpUrl, Field, model_validator

from kodo_jobs.manifest.spec_common import BucketName, JobBase, KeyText, PrefixText
from kodo_jobs.manifest.types import HttpUrlText, LocalPath, StorageClass

SkipExisting = Literal[False, True, "key", "etag", "md5"]
"""Which existing keys a fetch skips: none, any (true/"key"), or those whose etag/md5 matches."""


class FetchJob(JobBase):
    """Fetch URLs into the bucket (``urls``/``urls_file``) or prefetch mirrored keys (``prefetch: true``)."""

    kind: Literal["fetch"]
    """Job kind."""
    bucket: BucketName
    """Destination bucket."""
    urls: Annotated[tuple[HttpUrlText, ...], Field(min_length=1)] | None = None
    """URLs to fetch; the key is key_prefix + the URL's path."""
    urls_file: LocalPath | None = None
    """File of lines ``url``, ``url<TAB>key`` or ``url<TAB>key<TAB>etag-or-md5`` (a failure_file
    is one too)."""
    keys: Annotated[tuple[KeyText, ...], Field(min_length=1)] | None = None
    """With prefetch: keys to (re)fetch from the bucket's mirror origin."""
    keys_file: LocalPath | None = None
    """With prefetch: file with one key per line."""
    prefetch: bool = False
    """Mirror prefetch of keys instead of fetching URLs."""
    key_prefix: PrefixText = ""
    """Prefix of the keys derived from URLs."""
    mode: Literal["sync", "async"] = "sync"
    """sync = io /fetch per URL; async = api /sisyphus/fetch tasks."""
    skip_existing: SkipExisting = False
    """Skip URLs whose key exists (true/"key"), or whose etag/md5 matches; with prefetch: skip
    keys that exist (warm only the missing ones; without it every key is pulled again)."""
    host: str | None = None
    """Host header sent to the source."""
    success_file: LocalPath | None = None
    """Write ``url<TAB>key`` (prefetch: ``key``) of each fetched URL here; each run rewrites it."""
    failure_file: LocalPath | None = None
    """Write ``url<TAB>key<TAB>code<TAB>error`` (prefetch: ``key<TAB>code<TAB>error``) of each
    failure here; each run rewrites it; usable as ``urls_file`` to retry just the failures."""
    file_type: StorageClass | None = None
    """Storage class of fetched objects."""
    callback_url: AnyHttpUrl | None = None
    """async: URL called when a task ends."""
    callback_body: str | None = None
    """async: callback body template."""
    callback_body_type: Literal["application/x-www-form-urlencoded", "application/json"] | None = None
    """async: content type of the callback body."""
    callback_host: str | None = None
    """async: Host header of the callback."""

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        names = ("keys", "keys_file") if self.prefetch else ("urls", "urls_file")
        other = ("urls", "urls_file") if self.prefetch else ("keys", "keys_file")
        given = [n for n in names if getattr(self, n) is not None]
        if len(given) != 1:
            what = "with prefetch: true" if self.prefetch else "to fetch"
            raise ValueError(f"set exactly one of {names[0]} or {names[1]} {what} (got {', '.join(given) or 'none'})")
        wrong = [n for n in other if getattr(self, n) is not None]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} only apply {'without' if self.prefetch else 'with'} prefetch: true")
        if self.mode == "sync" and (self.callback_url or self.callback_body):
            raise ValueError("callback_url/callback_body only apply to mode: async")
        if self.callback_url and not self.callback_body:
            raise ValueError("callback_url needs callback_body")
        return self
