"""Upload options of a sync job: resumable version, part sizes, metadata and the put policy.

``PutPolicy`` has a typed, camelCase-aliased field for every put-policy field of
kodo-protocol.md section 2.5 except ``scope`` and ``deadline``, which the runner sets per key.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from kodo_jobs.manifest.base import Model
from kodo_jobs.manifest.spec_common import KeyText
from kodo_jobs.manifest.types import Duration, Size, StorageClass

MIB = 1024 * 1024
META_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


class PutPolicy(Model):
    """Put-policy fields sent in every upload token (scope and deadline are set per key)."""

    insert_only: Literal[0, 1] | None = Field(None, alias="insertOnly")
    """1 = never overwrite an existing key (614 instead)."""
    is_prefixal_scope: Literal[0, 1] | None = Field(None, alias="isPrefixalScope")
    """1 = the scope's key part is a prefix."""
    end_user: str | None = Field(None, alias="endUser")
    """Opaque owner id stored on the object."""
    return_url: str | None = Field(None, alias="returnUrl")
    """Browser form uploads: 303 redirect target."""
    return_body: str | None = Field(None, alias="returnBody")
    """Template of the upload response (magic and x: variables)."""
    callback_url: str | None = Field(None, alias="callbackUrl")
    """URL(s, ';'-separated) Kodo POSTs to after storing; needs callbackBody."""
    callback_host: str | None = Field(None, alias="callbackHost")
    """Host header of the callback request."""
    callback_body: str | None = Field(None, alias="callbackBody")
    """Callback request body template."""
    callback_body_type: Literal["application/x-www-form-urlencoded", "application/json"] | None = Field(
        None, alias="callbackBodyType")
    """Content type of the callback body."""
    callback_fetch_key: Literal[0, 1] | None = Field(None, alias="callbackFetchKey")
    """1 = the callback response names the key to store under."""
    persistent_ops: str | None = Field(None, alias="persistentOps")
    """Fops to run after upload, ';'-separated (not with fileType 2/3)."""
    persistent_notify_url: str | None = Field(None, alias="persistentNotifyUrl")
    """URL receiving the processing result."""
    persistent_pipeline: str | None = Field(None, alias="persistentPipeline")
    """Processing queue name."""
    persistent_type: Literal[0, 1] | None = Field(None, alias="persistentType")
    """1 = idle-time processing."""
    persistent_workflow_template_id: str | None = Field(None, alias="persistentWorkflowTemplateID")
    """Run a workflow template instead of persistentOps."""
    force_save_key: bool | None = Field(None, alias="forceSaveKey")
    """Always name the object by saveKey."""
    save_key: str | None = Field(None, alias="saveKey")
    """Key template used when the client gives no key (or always, with forceSaveKey)."""
    fsize_min: Size | None = Field(None, alias="fsizeMin")
    """Smaller uploads are rejected (403)."""
    fsize_limit: Size | None = Field(None, alias="fsizeLimit")
    """Larger uploads are rejected (413)."""
    detect_mime: Literal[-1, 0, 1] | None = Field(None, alias="detectMime")
    """MIME detection: 0 client/ext/sniff, 1 sniff first, -1 always the client's value."""
    mime_limit: str | None = Field(None, alias="mimeLimit")
    """Allowed MIME types, ';'-separated, wildcards, leading '!' negates."""
    file_type: StorageClass | None = Field(None, alias="fileType")
    """Storage class of new objects (0 standard .. 4 archive IR, or a name)."""
    delete_after_days: Annotated[int, Field(ge=0)] | None = Field(None, alias="deleteAfterDays")
    """Delete objects this many days after upload."""
    traffic_limit: Annotated[int, Field(ge=819200, le=838860800)] | None = Field(None, alias="trafficLimit")
    """Per-connection upload rate limit in bit/s (819200..838860800)."""
    keylimit: Annotated[tuple[KeyText, ...], Field(min_length=1, max_length=20)] | None = None
    """Up to 20 keys this token may upload."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.callback_url and not self.callback_body:
            raise ValueError("callbackUrl needs a non-empty callbackBody")
        if self.force_save_key and not self.save_key:
            raise ValueError("forceSaveKey needs a non-empty saveKey")
        if self.persistent_ops and self.file_type in (2, 3):
            raise ValueError("persistentOps cannot be used with fileType 2 or 3 (archive classes)")
        if self.fsize_min is not None and self.fsize_limit is not None and self.fsize_min > self.fsize_limit:
            raise ValueError(f"fsizeMin ({self.fsize_min}) must be <= fsizeLimit ({self.fsize_limit})")
        return self

    def to_policy_dict(self) -> dict[str, object]:
        """The fields that are set, by their wire names, ready to merge into an upload token."""
        data = self.model_dump(by_alias=True, exclude_none=True)
        if "keylimit" in data:
            data["keylimit"] = list(data["keylimit"])
        return data


class UploadOptions(Model):
    """How files are uploaded: form below ``threshold``, resumable (v1 or v2) above."""

    resumable: Literal["v1", "v2"] = "v2"
    """Resumable protocol: v2 (multipart, parallel parts) or v1 (mkblk/bput/mkfile, 4MiB blocks)."""
    threshold: Size = 4 * MIB
    """Files at least this large use the resumable protocol."""
    part_size: Size = 4 * MIB
    """v2 part size (1MiB..1GiB); v1 always uses 4MiB blocks."""
    part_concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    """Parts of one file uploaded in parallel."""
    part_md5: bool = False
    """Send a Content-MD5 with every v2 part (the SDK always does). Off by default: the object's
    etag is compared with the local file's after the upload, which already covers every byte,
    and the MD5 pass is a second full read of the data in client CPU (figures: docs/bench.md)."""
    mime_type: str | None = None
    """Content type to set (default: detected by Kodo)."""
    metadata: dict[Annotated[str, Field(pattern=META_NAME_PATTERN)], str] = Field(default_factory=dict)
    """User metadata, sent as x-qn-meta-<name>."""
    custom_vars: dict[Annotated[str, Field(pattern=META_NAME_PATTERN)], str] = Field(default_factory=dict)
    """Custom variables, sent as x:<name> (usable in returnBody/callbackBody)."""
    keep_last_modified: bool = False
    """Store the local mtime as the metadata `!Last-Modified` (the SDK's convention): Kodo serves it as the object's Last-Modified header. A download sync does not set local mtimes from it."""
    token_ttl: Duration = 3600.0
    """Lifetime of each upload token."""
    policy: PutPolicy = PutPolicy()
    """Put-policy fields added to every upload token."""

    @field_validator("part_size")
    @classmethod
    def _part_size(cls, value: int) -> int:
        if not MIB <= value <= 1024 * MIB:
            raise ValueError(f"must be between 1MiB and 1GiB (got {value} bytes)")
        return value

    @field_validator("token_ttl")
    @classmethod
    def _token_ttl(cls, value: float) -> float:
        if value < 60:
            raise ValueError(f"must be at least 60s (got {value:g}s)")
        return value
