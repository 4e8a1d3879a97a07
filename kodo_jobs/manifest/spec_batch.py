"""``kind: batch``: one rs operation applied to many keys, up to 1000 per batch request.

``op`` is a one-key mapping naming the operation, e.g. ``op: {move: {bucket: archive}}``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self, TypeAlias

from pydantic import Field, model_validator

from kodo_jobs.manifest.base import Model
from kodo_jobs.manifest.spec_common import BucketName, KeySource, KeyText, PrefixText, SoftDelete
from kodo_jobs.manifest.types import Limit, StorageClass
from kodo_jobs.manifest.upload import META_NAME_PATTERN

BatchOpName: TypeAlias = Literal["move", "copy", "rename", "delete", "chtype", "chgm", "deleteAfterDays",
                                 "chstatus", "restoreAr", "lifecycle", "stat"]
"""An rs operation's name as written in YAML (and as a batch action's op)."""

_WIRE_NAMES: dict[str, BatchOpName] = {
    "move": "move", "copy_": "copy", "rename": "rename", "delete": "delete", "chtype": "chtype", "chgm": "chgm",
    "expire": "deleteAfterDays", "chstatus": "chstatus", "restore_ar": "restoreAr", "lifecycle": "lifecycle",
    "stat": "stat",
}
"""Field name -> YAML name (the field's alias, or its name): typed, for :attr:`BatchOp.name`."""


class MoveOp(Model):
    """Move (or copy) each key to ``bucket`` as ``dest_prefix + (key without strip_prefix)``."""

    bucket: BucketName | None = None
    """Destination bucket (default: the job's bucket)."""
    dest_prefix: PrefixText = ""
    """Prefix added to each destination key."""
    strip_prefix: PrefixText = ""
    """Prefix removed from each source key first (keys without it are errors)."""
    force: bool = False
    """Overwrite existing destination keys."""


class RenameOp(Model):
    """Rename within the bucket: exactly one of ``to``, ``replace_prefix`` or ``regex``."""

    to: KeyText | None = None
    """New key (only with exactly one key)."""
    replace_prefix: PrefixText | None = None
    """Replace this leading part of each key ..."""
    with_prefix: PrefixText = ""
    """... with this one."""
    regex: str | None = None
    """Python regular expression matched against each key ..."""
    replacement: str = ""
    """... replaced by this (\\1 back-references allowed)."""
    force: bool = False
    """Overwrite existing destination keys."""

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        given = [n for n in ("to", "replace_prefix", "regex") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"set exactly one of to, replace_prefix or regex (got {', '.join(given) or 'none'})")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"invalid regex {self.regex!r}: {exc}") from None
        return self


class EmptyOp(Model):
    """An operation without parameters (``delete: {}``, ``stat: {}``)."""


class ChtypeOp(Model):
    """Change the storage class."""

    type: StorageClass
    """New storage class (0..4 or a name)."""


class ChgmOp(Model):
    """Change MIME type and/or user metadata."""

    mime: str | None = None
    """New MIME type."""
    metadata: dict[Annotated[str, Field(pattern=META_NAME_PATTERN)], str] = Field(default_factory=dict)
    """Metadata to set (x-qn-meta-<name>)."""

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.mime is None and not self.metadata:
            raise ValueError("set mime and/or metadata")
        return self


class DaysOp(Model):
    """An operation taking a number of days."""

    days: Annotated[int, Field(ge=0)]
    """Days (0 cancels an expiry)."""


class RestoreOp(Model):
    """Thaw archived objects for some days."""

    days: Annotated[int, Field(ge=1, le=7)]
    """Days the restored copy stays readable (1..7)."""


class ChstatusOp(Model):
    """Enable (0) or disable (1) objects."""

    status: Literal[0, 1]
    """0 enabled, 1 disabled (not downloadable)."""


class LifecycleOp(Model):
    """Per-object lifecycle rules (0 = leave unchanged, -1 = cancel the rule)."""

    to_ia_after_days: Annotated[int, Field(ge=-1)] = 0
    """Move to IA after N days."""
    to_archive_ir_after_days: Annotated[int, Field(ge=-1)] = 0
    """Move to archive IR after N days."""
    to_archive_after_days: Annotated[int, Field(ge=-1)] = 0
    """Move to archive after N days."""
    to_deep_archive_after_days: Annotated[int, Field(ge=-1)] = 0
    """Move to deep archive after N days."""
    delete_after_days: Annotated[int, Field(ge=-1)] = 0
    """Delete after N days."""


class BatchOp(Model):
    """The operation: a mapping with exactly one key."""

    move: MoveOp | None = None
    """Move keys (to another bucket and/or prefix)."""
    copy_: MoveOp | None = Field(None, alias="copy")
    """Copy keys (to another bucket and/or prefix)."""
    rename: RenameOp | None = None
    """Rename keys inside the bucket."""
    delete: EmptyOp | None = None
    """Delete keys."""
    chtype: ChtypeOp | None = None
    """Change storage class."""
    chgm: ChgmOp | None = None
    """Change MIME type / metadata."""
    expire: DaysOp | None = Field(None, alias="deleteAfterDays")
    """Set deleteAfterDays (``expire`` is accepted too)."""
    chstatus: ChstatusOp | None = None
    """Enable/disable objects."""
    restore_ar: RestoreOp | None = Field(None, alias="restoreAr")
    """Restore archived objects."""
    lifecycle: LifecycleOp | None = None
    """Set lifecycle rules."""
    stat: EmptyOp | None = None
    """Only read metadata (a dry inventory)."""

    @model_validator(mode="before")
    @classmethod
    def _expire_alias(cls, data: object) -> object:
        if isinstance(data, dict) and "expire" in data and "deleteAfterDays" not in data:
            data = dict(data)
            data["deleteAfterDays"] = data.pop("expire")
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if len(self._set_fields()) != 1:
            names = sorted(self.wire_names())
            got = ", ".join(sorted(self._set_wire_names())) or "none"
            raise ValueError(f"name exactly one operation (got {got}); one of: {', '.join(names)}")
        return self

    @classmethod
    def wire_names(cls) -> list[str]:
        """Operation names as written in YAML."""
        return [f.alias or n for n, f in cls.model_fields.items()]

    def _set_fields(self) -> list[str]:
        return [n for n in type(self).model_fields if getattr(self, n) is not None]

    def _set_wire_names(self) -> list[str]:
        fields = type(self).model_fields
        return [fields[n].alias or n for n in self._set_fields()]

    @property
    def name(self) -> BatchOpName:
        """The operation's YAML name (``move``, ``copy``, ``deleteAfterDays``, ...)."""
        return _WIRE_NAMES[self._set_fields()[0]]

    @property
    def forced(self) -> bool:
        """The operation's own ``force`` (move, copy and rename have one; the others: False)."""
        for op in (self.move, self.copy_, self.rename):
            if op is not None:
                return op.force
        return False

    @property
    def params(self) -> Model:
        """The operation's parameters."""
        value = getattr(self, self._set_fields()[0])
        assert isinstance(value, Model)
        return value


class BatchJob(KeySource):
    """Apply one rs operation to a set of keys (inline, from a file, or selected by listing)."""

    kind: Literal["batch"]
    """Job kind."""
    op: BatchOp
    """The operation, e.g. ``{delete: {}}`` or ``{move: {bucket: archive}}``."""
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 1000
    """Operations per batch request."""
    max_ops: Limit | None = None
    """Refuse to run above this many (or this share) of operations."""
    force: bool = False
    """Overwrite destinations (move/copy/rename) unless the op says otherwise."""
    soft_delete: SoftDelete | None = None
    """With op delete: move to trash or expire instead."""

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.soft_delete is not None and self.op.delete is None:
            raise ValueError("soft_delete only applies to op: {delete: {}}")
        if self.op.rename is not None and self.op.rename.to is not None and (self.keys is None or len(self.keys) != 1):
            raise ValueError("rename: {to: ...} needs exactly one key in keys")
        moving = self.op.move
        if moving is not None and moving.bucket in (None, self.bucket) and moving.dest_prefix == moving.strip_prefix:
            raise ValueError("move would put every key onto itself: set bucket, dest_prefix or strip_prefix")
        return self
