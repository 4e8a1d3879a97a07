"""The object store: SQLite metadata (WAL) + immutable blobs (files, or rows for small objects).

Boundary: knows buckets and objects, raises domain errors (``NoSuchBucket`` 631,
``NoSuchKey`` 612, ``KeyExists`` 614, ``BadMarker`` 640, ``BadRequest`` 400); knows nothing
of HTTP, signatures or put policies.

API (all thread-safe):

* buckets: ``create_bucket(name, private=False)``, ``bucket_exists(name)``,
  ``is_private(name)``, ``set_private(name, flag)``, ``list_buckets()``,
  ``require_bucket(name)`` (631, or creates it when ``auto_create``).
* ``put_object(bucket, key, src, *, mime, fsize, hash, md5=None, end_user=None, file_type=0,
  metadata=None, delete_after_days=0, parts=None, insert_only=False) -> ObjectInfo``:
  ``src`` is a temp file ``Path`` (renamed into place: it is consumed), a binary file
  object (copied) or bytes (up to :data:`INLINE_MAX` kept in the database, see below).
  ``insert_only`` raises ``KeyExists`` when the key holds a different hash
  (same hash: success, nothing changes). The row is written only after the bytes are in place,
  so a crash never exposes half an object.
* ``stat(bucket, key) -> ObjectInfo`` (612), ``open_object(bucket, key) -> BinaryIO``,
  ``blob_source(blob) -> Path | BytesIO`` (what to serve), ``get_object_path(bucket, key) ->
  Path`` (file-backed objects only).
* ``delete``, ``move(src_b, src_k, dst_b, dst_k, force)``, ``copy(...)`` (614 unless force),
  ``change_mime(bucket, key, mime, metadata=None)``, ``change_type``,
  ``set_delete_after_days``, ``change_status``, ``restore_ar(bucket, key, days)``,
  ``set_lifecycle(bucket, key, to_ia, to_archive_ir, to_archive, to_deep_archive, delete)``
  (days; 0 keeps, -1 cancels). Each accepts ``cond`` (a parsed ``{hash,mime,fsize,putTime}``
  dict) where Kodo does; a mismatch raises ``ConditionFailed`` (608).
* ``list(bucket, prefix="", marker="", limit=1000, delimiter="") -> (items,
  common_prefixes, next_marker)``: byte-order keys; common prefixes count toward ``limit``;
  a marker ending a delimiter group skips the whole group; ``next_marker`` is "" at the end.
* ``count_objects()``.

Small objects inline. An object given as bytes of at most :data:`INLINE_MAX` keeps them in the
``inline_blobs`` table (its ``blob`` is ``db:<id>``), written in the same transaction as its
row; copies copy the row, and deletes and overwrites delete it in the transaction that changes
the object's row. Why: a fresh sync of small files is one upload per
file, and creating, renaming and later unlinking one small file per object was most of the
emulator's kernel time per upload (``perf``: ext4 inode allocation scanning recently deleted
inodes, directory lock contention between request threads); MinIO keeps small objects in its
metadata for the same reason. Everything larger, and every resumable upload, stays a file.

Expiry (``deleteAfterDays``, lifecycle ``deleteAfterDays``) is enforced lazily: once its time
has come, an object reads as missing everywhere (stat, list, count, overwrite checks), like
after Kodo's background cleanup.

Times: ``put_time`` in 100-ns units like Kodo; expiration and transitions in unix seconds,
rounded up to the next midnight China time as Kodo documents.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import contextlib
import io
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.errors import (
    BadMarker,
    BadRequest,
    ConditionFailed,
    EmulatorError,
    KeyExists,
    NoSuchBucket,
    NoSuchKey,
)
from kodo_jobs.naming import bucket_problem

_DAY = 86400
_CST = 8 * 3600
_IN_CHUNK = 500  # keys per ``IN (...)`` query: well under SQLite's bound-parameter limit
INLINE_MAX = 64 * 1024
"""Objects stored from bytes of at most this size keep them in the database (see the module docstring)."""
INLINE_PREFIX = "db:"
"""Blob names of inline objects start with this (file blobs are ``xx/<uuid hex>``)."""
RESTORE_SECONDS = 1.0  # how long a simulated archive restore takes (restoreStatus 1 -> 2)

_COLUMNS = (
    "bucket, key, fsize, hash, md5, mime, put_time, type, status, end_user, metadata, expiration,"
    " transitions, restore_status, restore_started, parts, blob"
)
TRANSITION_FIELDS = ("transitionToIA", "transitionToArchiveIR", "transitionToARCHIVE", "transitionToDeepArchive")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One stored object's metadata (bytes live in ``blob`` under the objects folder)."""

    bucket: str
    key: str
    fsize: int
    hash: str
    mime: str
    put_time: int
    type: int = 0
    status: int = 0
    md5: str | None = None
    end_user: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    expiration: int | None = None
    transitions: dict[str, int] = field(default_factory=dict)
    restore_status: int | None = None
    restore_started: float | None = None
    parts: tuple[int, ...] | None = None
    blob: str = ""

    def current_restore_status(self, now: float) -> int | None:
        """1 while a restore runs, 2 once it finished (RESTORE_SECONDS after it started)."""
        if self.restore_status == 1 and self.restore_started is not None \
                and now - self.restore_started >= RESTORE_SECONDS:
            return 2
        return self.restore_status

    def to_json(self, now: float, *, with_key: bool = False, with_parts: bool = False) -> dict[str, Any]:
        """Kodo's stat / list item fields."""
        out: dict[str, Any] = {}
        if with_key:
            out["key"] = self.key
        out.update(fsize=self.fsize, hash=self.hash, mimeType=self.mime, putTime=self.put_time, type=self.type)
        if self.md5:
            out["md5"] = self.md5
        if self.end_user:
            out["endUser"] = self.end_user
        if self.status:
            out["status"] = self.status
        restore = self.current_restore_status(now)
        if restore:
            out["restoreStatus"] = restore
        if self.expiration:
            out["expiration"] = self.expiration
        for name in TRANSITION_FIELDS:
            if name in self.transitions:
                out[name] = self.transitions[name]
        if self.metadata:
            out["x-qn-meta"] = dict(self.metadata)
        if with_parts and self.parts is not None:
            out["parts"] = list(self.parts)
        return out


def midnight_after(ts: float, days: int) -> int:
    """Unix seconds of the first midnight (China time, as Kodo rounds) at or after ts + days."""
    t = int(ts) + days * _DAY
    local = t + _CST
    rounded = -(-local // _DAY) * _DAY
    return rounded - _CST


def next_prefix(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (code-point order
    equals UTF-8 byte order, which is how SQLite's BINARY collation compares TEXT)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        nxt = last + 1
        if 0xD800 <= nxt <= 0xDFFF:
            nxt = 0xE000
        if nxt <= 0x10FFFF:
            return "".join(chars) + chr(nxt)
    return None


def encode_marker(key: str, group: bool) -> str:
    """An opaque list marker: urlsafe base64 of ``{"c":0,"k":key}`` (+ ``"g":1`` after a group)."""
    doc: dict[str, Any] = {"c": 0, "k": key}
    if group:
        doc["g"] = 1
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def decode_marker(marker: str) -> tuple[str, bool]:
    """(key, is_group) from a marker; ``BadMarker`` (640) when it is not ours."""
    try:
        doc = json.loads(base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)))
        key = doc["k"]
        if not isinstance(key, str):
            raise TypeError
        return key, bool(doc.get("g"))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BadMarker() from exc


def check_cond(obj: ObjectInfo, cond: dict[str, str] | None) -> None:
    """Raise ``ConditionFailed`` unless every ``cond`` field matches the object."""
    if not cond:
        return
    actual = {"hash": obj.hash, "mime": obj.mime, "fsize": str(obj.fsize), "putTime": str(obj.put_time)}
    for name, want in cond.items():
        if name not in actual:
            raise BadRequest(f"invalid cond field {name!r}")
        if actual[name] != want:
            raise ConditionFailed()


class Store:
    """Buckets and objects; see the module docstring for the API."""

    def __init__(self, db: Database, *, clock: Callable[[], float], auto_create: bool = False) -> None:
        self.db = db
        self.clock = clock
        self.auto_create = auto_create
        # Buckets are never deleted, and the 256 blob folders never removed: remembering what
        # is known to exist saves a query / a mkdir call on every upload and rs command.
        self._known_buckets: set[str] = set()
        self._blob_dirs: set[str] = set()

    # -- buckets ---------------------------------------------------------------------------
    def create_bucket(self, name: str, private: bool = False) -> None:
        """Create a bucket (idempotent; an existing bucket keeps its contents, takes the flag)."""
        with self.db.tx() as c:
            c.execute(
                "INSERT INTO buckets (name, private, created) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET private = excluded.private",
                (name, int(private), self.clock()),
            )

    def bucket_exists(self, name: str) -> bool:
        """Whether the bucket exists."""
        if name in self._known_buckets:
            return True
        found = self.db.one("SELECT 1 FROM buckets WHERE name = ?", (name,)) is not None
        if found:
            self._known_buckets.add(name)
        return found

    def _blob_dir_ready(self, dest: Path) -> None:
        folder = dest.parent.name
        if folder not in self._blob_dirs:
            dest.parent.mkdir(exist_ok=True)
            self._blob_dirs.add(folder)

    def require_bucket(self, name: str) -> None:
        """631 unless the bucket exists (or is created now, with ``auto_create``)."""
        if self.bucket_exists(name):
            return
        if self.auto_create and bucket_problem(name) is None:  # Kodo has no bucket with another name
            self.create_bucket(name)
            return
        raise NoSuchBucket()

    def is_private(self, name: str) -> bool:
        """Whether downloads from the bucket need a signed URL (631 if missing)."""
        row = self.db.one("SELECT private FROM buckets WHERE name = ?", (name,))
        if row is None:
            raise NoSuchBucket()
        return bool(row[0])

    def set_private(self, name: str, private: bool) -> None:
        """Change the bucket's private flag (631 if missing)."""
        self.require_bucket(name)
        with self.db.tx() as c:
            c.execute("UPDATE buckets SET private = ? WHERE name = ?", (int(private), name))

    def list_buckets(self) -> list[str]:
        """Every bucket name, sorted."""
        return [r[0] for r in self.db.query("SELECT name FROM buckets ORDER BY name")]

    # -- objects ---------------------------------------------------------------------------
    def _row_to_obj(self, row: tuple[Any, ...]) -> ObjectInfo:
        (bucket, key, fsize, hash_, md5, mime, put_time, type_, status, end_user, metadata,
         expiration, transitions, restore_status, restore_started, parts, blob) = row
        return ObjectInfo(
            bucket=bucket, key=key, fsize=fsize, hash=hash_, md5=md5, mime=mime, put_time=put_time,
            type=type_, status=status, end_user=end_user,
            metadata=json.loads(metadata) if metadata else {},
            expiration=expiration, transitions=json.loads(transitions) if transitions else {},
            restore_status=restore_status, restore_started=restore_started,
            parts=tuple(json.loads(parts)) if parts else None, blob=blob,
        )

    def _get(self, bucket: str, key: str) -> ObjectInfo | None:
        row = self.db.one(f"SELECT {_COLUMNS} FROM objects WHERE bucket = ? AND key = ?", (bucket, key))
        if not row:
            return None
        obj = self._row_to_obj(row)
        if obj.expiration is not None and obj.expiration <= self.clock():
            return None  # expired (deleteAfterDays / lifecycle): gone, as Kodo's cleanup would make it
        return obj

    def _insert(self, c: Any, obj: ObjectInfo) -> None:
        c.execute(
            f"INSERT OR REPLACE INTO objects ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (obj.bucket, obj.key, obj.fsize, obj.hash, obj.md5, obj.mime, obj.put_time, obj.type,
             obj.status, obj.end_user, json.dumps(obj.metadata) if obj.metadata else None,
             obj.expiration, json.dumps(obj.transitions) if obj.transitions else None,
             obj.restore_status, obj.restore_started,
             json.dumps(list(obj.parts)) if obj.parts is not None else None, obj.blob),
        )

    def _new_blob_name(self) -> str:
        name = uuid.uuid4().hex
        return f"{name[:2]}/{name}"

    def blob_path(self, blob: str) -> Path:
        """Absolute path of a blob name."""
        return self.db.objects_dir / blob

    def blob_source(self, blob: str) -> Path | io.BytesIO:
        """What holds a blob's bytes: its file, or an in-memory copy of an inline blob
        (``FileNotFoundError`` when the inline row is gone, as for a missing file)."""
        if not blob.startswith(INLINE_PREFIX):
            return self.blob_path(blob)
        row = self.db.one("SELECT data FROM inline_blobs WHERE name = ?", (blob,))
        if row is None:
            raise FileNotFoundError(f"inline blob {blob} is gone")
        return io.BytesIO(row[0])

    def _place_blob(self, src: Path | IO[bytes]) -> str:
        blob = self._new_blob_name()
        dest = self.blob_path(blob)
        self._blob_dir_ready(dest)
        if isinstance(src, Path):
            os.replace(src, dest)
        else:
            tmp = self.db.tmp_dir / f"copy-{uuid.uuid4().hex}"
            with open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, 1024 * 1024)
            os.replace(tmp, dest)
        return blob

    def _drop_blob(self, blob: str) -> None:
        """Remove a blob that no committed row names (an inline one never outlives its transaction)."""
        if blob.startswith(INLINE_PREFIX):
            return
        with contextlib.suppress(FileNotFoundError):
            self.blob_path(blob).unlink()

    def _retire_blob(self, blob: str) -> None:
        """Drop the blob of a row just deleted or replaced, once that change is committed."""
        self._retire_blobs([blob])

    def _retire_blobs(self, blobs: builtins.list[str]) -> None:
        """Like :meth:`_retire_blob` for many blobs: one deferred action, plain string paths (a
        ``Path`` per file cost more than the unlink itself). Each blob name is one directory
        entry (copies are hard links under their own names), so unlinking it never touches
        another object's bytes. Inline blobs are skipped: :meth:`_forget_inline` removed their
        rows in the transaction that removed the object's."""
        blobs = [blob for blob in blobs if not blob.startswith(INLINE_PREFIX)]
        if not blobs:
            return
        root = str(self.db.objects_dir)

        def drop() -> None:
            for blob in blobs:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{root}/{blob}")
        self.db.after_commit(drop)

    @staticmethod
    def _forget_inline(c: Any, blobs: builtins.list[str]) -> None:
        """Delete the rows of the inline blobs among ``blobs``, in the caller's transaction (so
        they go exactly when the object rows naming them do)."""
        rows = [(blob,) for blob in blobs if blob.startswith(INLINE_PREFIX)]
        if rows:
            c.executemany("DELETE FROM inline_blobs WHERE name = ?", rows)

    def put_object(
        self, bucket: str, key: str, src: Path | IO[bytes] | bytes, *, mime: str, fsize: int, hash: str,
        md5: str | None = None, end_user: str | None = None, file_type: int = 0,
        metadata: dict[str, str] | None = None, delete_after_days: int = 0,
        parts: tuple[int, ...] | list[int] | None = None, insert_only: bool = False,
    ) -> ObjectInfo:
        """Store an object (see the module docstring); returns what was stored."""
        self.require_bucket(bucket)
        now = self.clock()
        data = src if isinstance(src, bytes) and len(src) <= INLINE_MAX else None
        if data is not None:
            blob = f"{INLINE_PREFIX}{uuid.uuid4().hex}"
        else:
            blob = self._place_blob(io.BytesIO(src) if isinstance(src, bytes) else src)
        obj = ObjectInfo(
            bucket=bucket, key=key, fsize=fsize, hash=hash, md5=md5, mime=mime,
            put_time=int(now * 10_000_000), type=file_type, end_user=end_user or None,
            metadata=dict(metadata or {}),
            expiration=midnight_after(now, delete_after_days) if delete_after_days > 0 else None,
            parts=tuple(parts) if parts is not None else None, blob=blob,
        )
        old: ObjectInfo | None = None
        try:
            with self.db.tx() as c:
                old = self._get(bucket, key)
                if old is not None and insert_only:
                    if old.hash == hash:
                        self._drop_blob(blob)
                        return old
                    raise KeyExists()
                if data is not None:
                    c.execute("INSERT INTO inline_blobs (name, data) VALUES (?, ?)", (blob, data))
                self._insert(c, obj)
                if old is not None:
                    self._forget_inline(c, [old.blob])
        except BaseException:
            self._drop_blob(blob)
            raise
        if old is not None:
            self._retire_blob(old.blob)
        return obj

    def exists(self, bucket: str, key: str) -> bool:
        """Whether the key exists (no bucket check)."""
        return self._get(bucket, key) is not None

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        """Metadata of one object (631 / 612)."""
        self.require_bucket(bucket)
        obj = self._get(bucket, key)
        if obj is None:
            raise NoSuchKey()
        return obj

    def get_object_path(self, bucket: str, key: str) -> Path:
        """Where a file-backed object's bytes are (read-only; the file is replaced, never
        rewritten); ``ValueError`` for an inline object (see :meth:`open_object`)."""
        source = self.blob_source(self.stat(bucket, key).blob)
        if not isinstance(source, Path):
            raise ValueError(f"{bucket}/{key} is kept in the database, not in a file")
        return source

    def open_object(self, bucket: str, key: str) -> IO[bytes]:
        """The object's bytes, opened for reading."""
        source = self.blob_source(self.stat(bucket, key).blob)
        return open(source, "rb") if isinstance(source, Path) else source

    def delete(self, bucket: str, key: str) -> None:
        """Delete one object (631 / 612)."""
        obj = self.stat(bucket, key)
        with self.db.tx() as c:
            c.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))
            self._forget_inline(c, [obj.blob])
        self._retire_blob(obj.blob)

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
                self.require_bucket(bucket)
            except EmulatorError as err:
                errors[i] = err
                continue
            by_bucket.setdefault(bucket, []).append(i)
        blobs: builtins.list[str] = []
        with self.db.tx() as c:
            now = self.clock()
            for bucket, indexes in by_bucket.items():
                keys = builtins.list(dict.fromkeys(targets[i][1] for i in indexes))
                live: dict[str, str] = {}
                for start in range(0, len(keys), _IN_CHUNK):
                    part = keys[start:start + _IN_CHUNK]
                    marks = ",".join("?" * len(part))
                    rows = c.execute(f"SELECT key, blob, expiration FROM objects WHERE bucket = ? AND key IN ({marks})",
                                     (bucket, *part)).fetchall()
                    # an expired object reads as missing (and its row stays, as with delete())
                    live.update((key, blob) for key, blob, exp in rows if exp is None or exp > now)
                gone: builtins.list[tuple[str, str]] = []
                for i in indexes:
                    key = targets[i][1]
                    blob = live.pop(key, None)
                    if blob is None:
                        errors[i] = NoSuchKey()
                        continue
                    gone.append((bucket, key))
                    blobs.append(blob)
                c.executemany("DELETE FROM objects WHERE bucket = ? AND key = ?", gone)
            self._forget_inline(c, blobs)
        self._retire_blobs(blobs)
        return errors

    def _transfer(self, src_b: str, src_k: str, dst_b: str, dst_k: str, force: bool, *, keep: bool) -> None:
        self.require_bucket(src_b)
        self.require_bucket(dst_b)
        if (src_b, src_k) == (dst_b, dst_k):
            self.stat(src_b, src_k)
            if not force:
                raise KeyExists()
            return
        new_blob = None
        old_dst: ObjectInfo | None = None
        with self.db.tx() as c:
            src = self._get(src_b, src_k)
            if src is None:
                raise NoSuchKey()
            old_dst = self._get(dst_b, dst_k)
            if old_dst is not None and not force:
                raise KeyExists()
            if keep and src.blob.startswith(INLINE_PREFIX):
                new_blob = f"{INLINE_PREFIX}{uuid.uuid4().hex}"
                c.execute("INSERT INTO inline_blobs (name, data) SELECT ?, data FROM inline_blobs WHERE name = ?",
                          (new_blob, src.blob))
                moved = replace(src, bucket=dst_b, key=dst_k, blob=new_blob,
                                put_time=int(self.clock() * 10_000_000))
            elif keep:
                new_blob = self._new_blob_name()
                dest = self.blob_path(new_blob)
                self._blob_dir_ready(dest)
                try:
                    os.link(self.blob_path(src.blob), dest)
                except OSError:
                    shutil.copyfile(self.blob_path(src.blob), dest)
                moved = replace(src, bucket=dst_b, key=dst_k, blob=new_blob,
                                put_time=int(self.clock() * 10_000_000))
            else:
                c.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (src_b, src_k))
                moved = replace(src, bucket=dst_b, key=dst_k)
            self._insert(c, moved)
            if old_dst is not None:
                self._forget_inline(c, [old_dst.blob])
        if old_dst is not None:
            self._retire_blob(old_dst.blob)

    def move(self, src_b: str, src_k: str, dst_b: str, dst_k: str, force: bool = False) -> None:
        """Rename / move an object (612 if the source is missing, 614 if the target exists)."""
        self._transfer(src_b, src_k, dst_b, dst_k, force, keep=False)

    def copy(self, src_b: str, src_k: str, dst_b: str, dst_k: str, force: bool = False) -> None:
        """Copy an object (the copy gets a new putTime)."""
        self._transfer(src_b, src_k, dst_b, dst_k, force, keep=True)

    def _update(self, bucket: str, key: str, change: Callable[[ObjectInfo], ObjectInfo],
                cond: dict[str, str] | None = None) -> ObjectInfo:
        self.require_bucket(bucket)
        with self.db.tx() as c:
            obj = self._get(bucket, key)
            if obj is None:
                raise NoSuchKey()
            check_cond(obj, cond)
            new = change(obj)
            self._insert(c, new)
            return new

    def change_mime(self, bucket: str, key: str, mime: str | None, metadata: dict[str, str] | None = None,
                    cond: dict[str, str] | None = None) -> ObjectInfo:
        """Set the MIME type and/or merge metadata (an empty value removes a metadata name)."""
        def change(o: ObjectInfo) -> ObjectInfo:
            meta = dict(o.metadata)
            for name, value in (metadata or {}).items():
                if value:
                    meta[name] = value
                else:
                    meta.pop(name, None)
            return replace(o, mime=mime or o.mime, metadata=meta)
        return self._update(bucket, key, change, cond)

    def change_type(self, bucket: str, key: str, file_type: int, cond: dict[str, str] | None = None) -> ObjectInfo:
        """Set the storage class (0..4)."""
        if file_type not in (0, 1, 2, 3, 4):
            raise BadRequest("invalid file type")
        return self._update(bucket, key, lambda o: replace(o, type=file_type, restore_status=None,
                                                           restore_started=None), cond)

    def set_delete_after_days(self, bucket: str, key: str, days: int,
                              cond: dict[str, str] | None = None) -> ObjectInfo:
        """Expire the object ``days`` after upload (0 cancels)."""
        if days < 0:
            raise BadRequest("invalid deleteAfterDays")

        def change(o: ObjectInfo) -> ObjectInfo:
            exp = midnight_after(o.put_time / 10_000_000, days) if days else None
            return replace(o, expiration=exp)
        return self._update(bucket, key, change, cond)

    def change_status(self, bucket: str, key: str, status: int, cond: dict[str, str] | None = None) -> ObjectInfo:
        """0 enabled, 1 disabled (not downloadable)."""
        if status not in (0, 1):
            raise BadRequest("invalid status")
        return self._update(bucket, key, lambda o: replace(o, status=status), cond)

    def restore_ar(self, bucket: str, key: str, days: int, cond: dict[str, str] | None = None) -> ObjectInfo:
        """Start thawing an archive / deep-archive object for ``days`` (1..7)."""
        if not 1 <= days <= 7:
            raise BadRequest("invalid freezeAfterDays")
        now = self.clock()

        def change(o: ObjectInfo) -> ObjectInfo:
            if o.type not in (2, 3):
                raise BadRequest("the file is not an archive file")
            if o.current_restore_status(now):
                return o
            return replace(o, restore_status=1, restore_started=now)
        return self._update(bucket, key, change, cond)

    def set_lifecycle(self, bucket: str, key: str, to_ia: int = 0, to_archive_ir: int = 0, to_archive: int = 0,
                      to_deep_archive: int = 0, delete: int = 0, cond: dict[str, str] | None = None) -> ObjectInfo:
        """Set per-object lifecycle rules, in days after upload (0 keeps a rule, -1 cancels it)."""
        rules = dict(zip(TRANSITION_FIELDS, (to_ia, to_archive_ir, to_archive, to_deep_archive), strict=True))
        for v in (*rules.values(), delete):
            if v < -1:
                raise BadRequest("invalid lifecycle days")

        def change(o: ObjectInfo) -> ObjectInfo:
            put_s = o.put_time / 10_000_000
            trans = dict(o.transitions)
            for name, days in rules.items():
                if days == -1:
                    trans.pop(name, None)
                elif days > 0:
                    trans[name] = midnight_after(put_s, days)
            exp = o.expiration
            if delete == -1:
                exp = None
            elif delete > 0:
                exp = midnight_after(put_s, delete)
            return replace(o, transitions=trans, expiration=exp)
        return self._update(bucket, key, change, cond)

    # -- listing ---------------------------------------------------------------------------
    def list(self, bucket: str, prefix: str = "", marker: str = "", limit: int = 1000,
             delimiter: str = "") -> tuple[list[ObjectInfo], list[str], str]:
        """One page of keys in byte order; see the module docstring."""
        self.require_bucket(bucket)
        if not 1 <= limit <= 1000:
            limit = 1000
        upper = next_prefix(prefix) if prefix else None
        start, inclusive = prefix, True
        if marker:
            mkey, group = decode_marker(marker)
            if group:
                nxt = next_prefix(mkey)
                if nxt is None:
                    return [], [], ""
                start, inclusive = max(nxt, prefix), True
            elif mkey >= prefix:
                start, inclusive = mkey, False
        items: list[ObjectInfo] = []
        prefixes: list[str] = []
        last: tuple[str, bool] | None = None
        exhausted = False
        while len(items) + len(prefixes) < limit:
            rows = self._range(bucket, start, inclusive, upper, limit - len(items) - len(prefixes) + 1)
            if not rows:
                exhausted = True
                break
            jumped = False
            for row in rows:
                obj = self._row_to_obj(row)
                rest = obj.key[len(prefix):]
                idx = rest.find(delimiter) if delimiter else -1
                if idx >= 0:
                    common = prefix + rest[: idx + len(delimiter)]
                    prefixes.append(common)
                    last = (common, True)
                    nxt = next_prefix(common)
                    if nxt is None:
                        exhausted = True
                        break
                    start, inclusive = nxt, True
                    jumped = True
                    break
                items.append(obj)
                last = (obj.key, False)
                start, inclusive = obj.key, False
                if len(items) + len(prefixes) >= limit:
                    break
            if exhausted:
                break
            if not jumped and len(rows) < limit - len(items) - len(prefixes) + 1 and \
                    len(items) + len(prefixes) < limit:
                exhausted = True
                break
        if not exhausted and last is not None:
            more = self._range(bucket, start, inclusive, upper, 1)
            if not more:
                exhausted = True
        next_marker = "" if exhausted or last is None else encode_marker(*last)
        return items, prefixes, next_marker

    def _range(self, bucket: str, start: str, inclusive: bool, upper: str | None,
               n: int) -> builtins.list[tuple[Any, ...]]:
        op = ">=" if inclusive else ">"
        sql = (f"SELECT {_COLUMNS} FROM objects WHERE bucket = ? AND key {op} ?"
               " AND (expiration IS NULL OR expiration > ?)")
        params: builtins.list[Any] = [bucket, start, int(self.clock())]
        if upper is not None:
            sql += " AND key < ?"
            params.append(upper)
        sql += " ORDER BY key LIMIT ?"
        params.append(n)
        return self.db.query(sql, tuple(params))

    def count_objects(self) -> int:
        """Number of objects in every bucket."""
        row = self.db.one("SELECT COUNT(*) FROM objects WHERE expiration IS NULL OR expiration > ?",
                          (int(self.clock()),))
        return int(row[0]) if row else 0
