"""``SqliteStore``: the :class:`.protocol.Store` over SQLite metadata (WAL) and immutable blobs.

It composes the parts, each with one noun: :class:`.buckets.Buckets` (the bucket table),
:class:`.objects.ObjectTable` (object rows, lazy expiry), :class:`.blobs.Blobs` (bytes in files
or inline rows), :mod:`.changes` (metadata and lifecycle changes), :mod:`.listing` (rsf pages).
What lives here is the order of steps that keeps a crash harmless: bytes are put in place
before the row that names them is written, and the bytes a row stops naming are removed only
after that change is committed.

Expiry (``deleteAfterDays``, lifecycle ``deleteAfterDays``) is enforced lazily: once its time
has come, an object reads as missing everywhere (stat, list, count, overwrite checks), like
after Kodo's background cleanup.
"""

from __future__ import annotations

import builtins
import functools
import io
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import IO

from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.errors import EmulatorError, KeyExists, NoSuchKey
from kodo_jobs.emulator.store import changes
from kodo_jobs.emulator.store.blobs import Blobs
from kodo_jobs.emulator.store.buckets import Buckets
from kodo_jobs.emulator.store.listing import Page, list_page
from kodo_jobs.emulator.store.object_info import TICKS_PER_SECOND, ObjectInfo
from kodo_jobs.emulator.store.objects import ObjectTable
from kodo_jobs.emulator.store.protocol import Cond


class SqliteStore:
    """Buckets and objects in one data folder; see :class:`.protocol.Store` for the contract."""

    def __init__(self, db: Database, *, clock: Callable[[], float], auto_create: bool = False) -> None:
        self.db = db
        self.clock = clock
        self.buckets = Buckets(db, clock=clock, auto_create=auto_create)
        self.objects = ObjectTable(db, clock=clock)
        self.blobs = Blobs(db)

    # -- buckets ---------------------------------------------------------------------------
    def create_bucket(self, name: str, private: bool = False) -> None:
        """Create a bucket (idempotent; an existing bucket keeps its contents, takes the flag)."""
        self.buckets.create(name, private)

    def bucket_exists(self, name: str) -> bool:
        """Whether the bucket exists."""
        return self.buckets.exists(name)

    def require_bucket(self, name: str) -> None:
        """631 unless the bucket exists (or is created now, with ``auto_create``)."""
        self.buckets.require(name)

    def is_private(self, name: str) -> bool:
        """Whether downloads from the bucket need a signed URL (631 if missing)."""
        return self.buckets.is_private(name)

    def set_private(self, name: str, private: bool) -> None:
        """Change the bucket's private flag (631 if missing)."""
        self.buckets.set_private(name, private)

    def list_buckets(self) -> builtins.list[str]:
        """Every bucket name, sorted."""
        return self.buckets.names()

    # -- objects ---------------------------------------------------------------------------
    @property
    def tmp_dir(self) -> Path:
        """Where incoming bodies are spooled (same file system as the blobs: renames)."""
        return self.db.tmp_dir

    def put_object(
        self, bucket: str, key: str, src: Path | IO[bytes] | bytes, *, mime: str, fsize: int, hash: str,
        md5: str | None = None, end_user: str | None = None, file_type: int = 0,
        metadata: dict[str, str] | None = None, delete_after_days: int = 0,
        parts: tuple[int, ...] | builtins.list[int] | None = None, insert_only: bool = False,
    ) -> ObjectInfo:
        """Store an object; returns what was stored. The row is written only after the bytes
        are in place (a file renamed into place, or an inline row in the same transaction)."""
        self.buckets.require(bucket)
        now = self.clock()
        blob, data = self.blobs.stage(src)
        obj = ObjectInfo(
            bucket=bucket, key=key, fsize=fsize, hash=hash, md5=md5, mime=mime,
            put_time=int(now * TICKS_PER_SECOND), type=file_type, end_user=end_user or None,
            metadata=dict(metadata or {}),
            expiration=changes.midnight_after(now, delete_after_days) if delete_after_days > 0 else None,
            parts=tuple(parts) if parts is not None else None, blob=blob,
        )
        old: ObjectInfo | None = None
        try:
            with self.db.tx() as c:
                old = self.objects.get(bucket, key)
                if old is not None and insert_only:
                    if old.hash == hash:
                        self.blobs.drop(blob)
                        return old
                    raise KeyExists()
                if data is not None:
                    self.blobs.write_inline(c, blob, data)
                self.objects.insert(c, obj)
                if old is not None:
                    self.blobs.forget_inline(c, [old.blob])
        except BaseException:
            self.blobs.drop(blob)
            raise
        if old is not None:
            self.blobs.retire([old.blob])
        return obj

    def exists(self, bucket: str, key: str) -> bool:
        """Whether the key exists (no bucket check)."""
        return self.objects.get(bucket, key) is not None

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        """Metadata of one object (631 / 612)."""
        self.buckets.require(bucket)
        obj = self.objects.get(bucket, key)
        if obj is None:
            raise NoSuchKey()
        return obj

    def blob_source(self, blob: str) -> Path | io.BytesIO:
        """What holds a blob's bytes: its file, or an in-memory copy of an inline blob."""
        return self.blobs.source(blob)

    def get_object_path(self, bucket: str, key: str) -> Path:
        """Where a file-backed object's bytes are (read-only; the file is replaced, never
        rewritten); ``ValueError`` for an inline object (see :meth:`open_object`)."""
        source = self.blobs.source(self.stat(bucket, key).blob)
        if not isinstance(source, Path):
            raise ValueError(f"{bucket}/{key} is kept in the database, not in a file")
        return source

    def open_object(self, bucket: str, key: str) -> IO[bytes]:
        """The object's bytes, opened for reading."""
        source = self.blobs.source(self.stat(bucket, key).blob)
        return open(source, "rb") if isinstance(source, Path) else source

    def delete(self, bucket: str, key: str) -> None:
        """Delete one object (631 / 612)."""
        obj = self.stat(bucket, key)
        with self.db.tx() as c:
            self.objects.delete(c, bucket, key)
            self.blobs.forget_inline(c, [obj.blob])
        self.blobs.retire([obj.blob])

    def delete_many(self, targets: builtins.list[tuple[str, str]]) -> builtins.list[EmulatorError | None]:
        """Delete many (bucket, key) objects; per target None (deleted) or the error a
        :meth:`delete` of it would raise at that point (631, 612; a key named twice is 612 the
        second time). Why: an rs ``/batch`` of 1000 deletes spent most of its time in per-op
        overhead; here one range of SELECTs finds the rows, one ``executemany`` removes them and
        the blobs go in one deferred sweep after the commit."""
        errors: builtins.list[EmulatorError | None] = [None] * len(targets)
        by_bucket: dict[str, builtins.list[int]] = {}
        for i, (bucket, _key) in enumerate(targets):
            try:
                self.buckets.require(bucket)
            except EmulatorError as err:
                errors[i] = err
                continue
            by_bucket.setdefault(bucket, []).append(i)
        blobs: builtins.list[str] = []
        with self.db.tx() as c:
            now = self.clock()
            for bucket, indexes in by_bucket.items():
                keys = builtins.list(dict.fromkeys(targets[i][1] for i in indexes))
                live = self.objects.live_blobs(c, bucket, keys, now)
                gone: builtins.list[tuple[str, str]] = []
                for i in indexes:
                    key = targets[i][1]
                    blob = live.pop(key, None)
                    if blob is None:
                        errors[i] = NoSuchKey()
                        continue
                    gone.append((bucket, key))
                    blobs.append(blob)
                self.objects.delete_many(c, gone)
            self.blobs.forget_inline(c, blobs)
        self.blobs.retire(blobs)
        return errors

    def move(self, src_b: str, src_k: str, dst_b: str, dst_k: str, force: bool = False) -> None:
        """Rename / move an object (612 if the source is missing, 614 if the target exists)."""
        self._transfer(src_b, src_k, dst_b, dst_k, force, keep=False)

    def copy(self, src_b: str, src_k: str, dst_b: str, dst_k: str, force: bool = False) -> None:
        """Copy an object (the copy gets a new putTime)."""
        self._transfer(src_b, src_k, dst_b, dst_k, force, keep=True)

    def _transfer(self, src_b: str, src_k: str, dst_b: str, dst_k: str, force: bool, *, keep: bool) -> None:
        self.buckets.require(src_b)
        self.buckets.require(dst_b)
        if (src_b, src_k) == (dst_b, dst_k):
            self.stat(src_b, src_k)
            if not force:
                raise KeyExists()
            return
        old_dst: ObjectInfo | None = None
        with self.db.tx() as c:
            src = self.objects.get(src_b, src_k)
            if src is None:
                raise NoSuchKey()
            old_dst = self.objects.get(dst_b, dst_k)
            if old_dst is not None and not force:
                raise KeyExists()
            if keep:
                moved = replace(src, bucket=dst_b, key=dst_k, blob=self.blobs.duplicate(c, src.blob),
                                put_time=int(self.clock() * TICKS_PER_SECOND))
            else:
                self.objects.delete(c, src_b, src_k)
                moved = replace(src, bucket=dst_b, key=dst_k)
            self.objects.insert(c, moved)
            if old_dst is not None:
                self.blobs.forget_inline(c, [old_dst.blob])
        if old_dst is not None:
            self.blobs.retire([old_dst.blob])

    # -- metadata and lifecycle changes (see changes.py) -----------------------------------
    def _update(self, bucket: str, key: str, change: changes.Change, cond: Cond | None) -> ObjectInfo:
        self.buckets.require(bucket)
        with self.db.tx() as c:
            obj = self.objects.get(bucket, key)
            if obj is None:
                raise NoSuchKey()
            changes.check_cond(obj, cond)
            new = change(obj)
            self.objects.insert(c, new)
            return new

    def change_mime(self, bucket: str, key: str, mime: str | None, metadata: dict[str, str] | None = None,
                    cond: Cond | None = None) -> ObjectInfo:
        """Set the MIME type and/or merge metadata (an empty value removes a metadata name)."""
        return self._update(bucket, key, changes.mime_change(mime, metadata), cond)

    def change_type(self, bucket: str, key: str, file_type: int, cond: Cond | None = None) -> ObjectInfo:
        """Set the storage class (0..4)."""
        return self._update(bucket, key, changes.type_change(file_type), cond)

    def set_delete_after_days(self, bucket: str, key: str, days: int, cond: Cond | None = None) -> ObjectInfo:
        """Expire the object ``days`` after upload (0 cancels)."""
        return self._update(bucket, key, changes.delete_after_change(days), cond)

    def change_status(self, bucket: str, key: str, status: int, cond: Cond | None = None) -> ObjectInfo:
        """0 enabled, 1 disabled (not downloadable)."""
        return self._update(bucket, key, changes.status_change(status), cond)

    def restore_ar(self, bucket: str, key: str, days: int, cond: Cond | None = None) -> ObjectInfo:
        """Start thawing an archive / deep-archive object for ``days`` (1..7)."""
        return self._update(bucket, key, changes.restore_change(days, self.clock()), cond)

    def set_lifecycle(self, bucket: str, key: str, to_ia: int = 0, to_archive_ir: int = 0, to_archive: int = 0,
                      to_deep_archive: int = 0, delete: int = 0, cond: Cond | None = None) -> ObjectInfo:
        """Set per-object lifecycle rules, in days after upload (0 keeps a rule, -1 cancels it)."""
        change = changes.lifecycle_change(to_ia, to_archive_ir, to_archive, to_deep_archive, delete)
        return self._update(bucket, key, change, cond)

    # -- listing and totals ----------------------------------------------------------------
    def list(self, bucket: str, prefix: str = "", marker: str = "", limit: int = 1000,
             delimiter: str = "") -> Page:
        """One page of keys in byte order (see :mod:`.listing`)."""
        self.buckets.require(bucket)
        return list_page(functools.partial(self.objects.range, bucket), prefix, marker, limit, delimiter)

    def count_objects(self) -> int:
        """Number of live objects in every bucket."""
        return self.objects.count()

    def batch(self) -> AbstractContextManager[None]:
        """One transaction for many operations (see ``Database.batch``)."""
        return self.db.batch()
