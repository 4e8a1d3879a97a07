"""``Store``: what handlers and services may ask of the object store.

Boundary: buckets and objects only. Implementations raise domain errors (``NoSuchBucket`` 631,
``NoSuchKey`` 612, ``KeyExists`` 614, ``ConditionFailed`` 608, ``BadMarker`` 640,
``BadRequest`` 400) and know nothing of HTTP, signatures or put policies. Every method is
thread-safe. The one implementation is :class:`.sqlite.SqliteStore`; handlers and services are
typed against this protocol so that they cannot reach into its tables.
"""

from __future__ import annotations

import builtins
import io
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Protocol

from kodo_jobs.emulator.errors import EmulatorError
from kodo_jobs.emulator.store.object_info import ObjectInfo

Cond = dict[str, str]
"""A parsed rs ``cond``: the fields (hash, mime, fsize, putTime) the object must match (608)."""


class Store(Protocol):
    """Buckets and objects (see the module docstring)."""

    # -- buckets ---------------------------------------------------------------------------
    def create_bucket(self, name: str, private: bool = False) -> None:
        """Create a bucket (idempotent; an existing bucket keeps its contents, takes the flag)."""

    def bucket_exists(self, name: str) -> bool:
        """Whether the bucket exists."""

    def require_bucket(self, name: str) -> None:
        """631 unless the bucket exists (or is created now, when the store auto-creates)."""

    def is_private(self, name: str) -> bool:
        """Whether downloads from the bucket need a signed URL (631 if missing)."""

    def set_private(self, name: str, private: bool) -> None:
        """Change the bucket's private flag (631 if missing)."""

    def list_buckets(self) -> builtins.list[str]:
        """Every bucket name, sorted."""

    # -- objects ---------------------------------------------------------------------------
    @property
    def tmp_dir(self) -> Path:
        """Where to spool an incoming body, so that :meth:`put_object` can rename it into place."""

    def put_object(
        self, bucket: str, key: str, src: Path | IO[bytes] | bytes, *, mime: str, fsize: int, hash: str,
        md5: str | None = None, end_user: str | None = None, file_type: int = 0,
        metadata: dict[str, str] | None = None, delete_after_days: int = 0,
        parts: tuple[int, ...] | builtins.list[int] | None = None, insert_only: bool = False,
    ) -> ObjectInfo:
        """Store an object and return what was stored. ``src``: a temp file under
        :attr:`tmp_dir` (consumed), a binary file (copied) or bytes. ``insert_only``: 614 when
        the key holds a different hash (the same hash succeeds and changes nothing). A crash
        never exposes half an object."""

    def exists(self, bucket: str, key: str) -> bool:
        """Whether the key exists (no bucket check)."""

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        """Metadata of one object (631 / 612)."""

    def open_object(self, bucket: str, key: str) -> IO[bytes]:
        """The object's bytes, opened for reading."""

    def blob_source(self, blob: str) -> Path | io.BytesIO:
        """What holds a blob's bytes (``ObjectInfo.blob``): a file, or an in-memory copy
        (``FileNotFoundError`` when it is gone)."""

    def delete(self, bucket: str, key: str) -> None:
        """Delete one object (631 / 612)."""

    def delete_many(self, targets: builtins.list[tuple[str, str]]) -> builtins.list[EmulatorError | None]:
        """Delete many (bucket, key) objects; per target None or the error a :meth:`delete` of
        it would raise at that point (a key named twice is 612 the second time)."""

    def move(self, src_b: str, src_k: str, dst_b: str, dst_k: str, force: bool = False) -> None:
        """Rename / move an object (612 if the source is missing, 614 if the target exists)."""

    def copy(self, src_b: str, src_k: str, dst_b: str, dst_k: str, force: bool = False) -> None:
        """Copy an object (the copy gets a new putTime; 612 / 614 as for :meth:`move`)."""

    def change_mime(self, bucket: str, key: str, mime: str | None, metadata: dict[str, str] | None = None,
                    cond: Cond | None = None) -> ObjectInfo:
        """Set the MIME type and/or merge metadata (an empty value removes a metadata name)."""

    def change_type(self, bucket: str, key: str, file_type: int, cond: Cond | None = None) -> ObjectInfo:
        """Set the storage class (0..4)."""

    def set_delete_after_days(self, bucket: str, key: str, days: int, cond: Cond | None = None) -> ObjectInfo:
        """Expire the object ``days`` after upload (0 cancels)."""

    def change_status(self, bucket: str, key: str, status: int, cond: Cond | None = None) -> ObjectInfo:
        """0 enabled, 1 disabled (not downloadable)."""

    def restore_ar(self, bucket: str, key: str, days: int, cond: Cond | None = None) -> ObjectInfo:
        """Start thawing an archive / deep-archive object for ``days`` (1..7)."""

    def set_lifecycle(self, bucket: str, key: str, to_ia: int = 0, to_archive_ir: int = 0, to_archive: int = 0,
                      to_deep_archive: int = 0, delete: int = 0, cond: Cond | None = None) -> ObjectInfo:
        """Set per-object lifecycle rules, in days after upload (0 keeps a rule, -1 cancels it)."""

    # -- listing and totals ----------------------------------------------------------------
    def list(self, bucket: str, prefix: str = "", marker: str = "", limit: int = 1000,
             delimiter: str = "") -> tuple[builtins.list[ObjectInfo], builtins.list[str], str]:
        """One page of keys in byte order: (items, common prefixes, next marker); see
        :mod:`.listing`."""

    def count_objects(self) -> int:
        """Number of live objects in every bucket."""

    def batch(self) -> AbstractContextManager[None]:
        """One transaction for many operations (an rs ``/batch``): each operation inside it
        commits or rolls back on its own, and bytes freed by it go once the batch committed."""
