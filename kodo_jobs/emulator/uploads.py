"""In-progress resumable uploads: v1 blocks (``ctx``) and v2 sessions (``uploadId``).

Sessions live in the metadata database and their bytes under ``<data>/uploads``, so they
survive a restart (a client resumes by re-sending only missing parts). Both kinds expire after
``SESSION_SECONDS`` (7 days, as Kodo documents for uploadIds); expired ones are purged at
start-up.

* v1: ``mkblk`` creates a block holding its first chunk; ``bput`` appends the next chunk; each
  answer carries a new ctx (``<block id>:<offset>``, base64), valid only for the next chunk
  and for ``mkfile``. A stale, foreign or expired ctx -> 701. ``assemble_v1`` checks the ctx
  list and concatenates the blocks into a temp file.
* v2: ``initiate`` / ``put_part`` (Content-MD5 checked, re-upload replaces) / ``list_parts`` /
  ``abort``; ``assemble_v2`` checks the complete request's part list (ascending, etags match,
  parts but the last >= 1 MiB) and concatenates the parts. Unknown or finished id -> 612.

  Parts are written **in place** where they can be: a session's first part fixes its *stride*
  (that part's size), and a part no larger than the stride, small enough to be read whole
  (``bodies.IN_MEMORY``) and not already stored or being stored, is written at
  ``(number - 1) * stride`` of one ``assembly`` file (its row's ``file`` is ``@<stride>``).
  When a complete names exactly parts 1..N of the session, all in place, every part but the
  last of the stride's size, the assembly file (cut after the last part) *is* the object: it is
  hard-linked, not copied, which saves a second pass over every byte. Anything else (other part
  sizes, re-uploads, gaps, subsets) is stored in a file per part and concatenated as before.
  While a complete uses the assembly file, no part is written into it.

The caller (``handlers/up.py``) stores the assembled object and then calls ``finish_v1`` /
``finish_v2``; a refused completion (614, 403 ...) leaves the session usable, as Kodo does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kodo_jobs.emulator.bodies import (
    fits_in_memory,
    read_in_memory,
    remove_quietly,
    stream_to_file,
    temp_path,
)
from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.errors import BadContext, BadRequest, NoSuchUpload
from kodo_jobs.emulator.etag import BLOCK, bin_from_block_sha1s, encode_bin, etag_from_parts

SESSION_SECONDS = 7 * 86400
MIN_PART = 1024 * 1024
MAX_PART = 1024 * 1024 * 1024
MAX_PART_NUMBER = 10000
ASSEMBLY = "assembly"
"""The file of a v2 session that holds the parts written in place."""


@dataclass(frozen=True)
class Assembled:
    """A completed upload's content, ready for ``Store.put_object``: in a temp file (``path``),
    or in memory (``data``, a small form upload: no file is written for it)."""

    path: Path | None
    fsize: int
    hash: str
    parts: tuple[int, ...] | None = None
    data: bytes | None = None


@dataclass(frozen=True)
class BlockAnswer:
    """What mkblk / bput answer."""

    ctx: str
    checksum: str
    crc32: int
    offset: int
    expired_at: int


@dataclass(frozen=True)
class PartInfo:
    """One stored v2 part."""

    part_number: int
    size: int
    etag: str
    md5: str
    put_time: int


def _encode_ctx(block_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{block_id}:{offset}".encode()).decode()


def _decode_ctx(ctx: str) -> tuple[str, int]:
    try:
        block_id, _, offset = base64.urlsafe_b64decode(ctx + "=" * (-len(ctx) % 4)).decode().partition(":")
        return block_id, int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadContext() from exc


class Uploads:
    """Resumable upload sessions; see the module docstring."""

    def __init__(self, db: Database, *, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock
        self._place_lock = threading.Lock()
        self._strides: dict[str, int] = {}
        """uploadId -> stride of its in-place parts (rebuilt from the rows after a restart)."""
        self._writing: set[tuple[str, int]] = set()
        """(uploadId, part number) being written in place right now."""
        self._sealed: set[str] = set()
        """Sessions whose assembly file a complete is using: no in-place writes meanwhile."""
        self.purge_expired()

    def purge_expired(self) -> None:
        """Forget sessions whose lifetime is over, and their bytes."""
        now = int(self.clock())
        for (block_id,) in self.db.query("SELECT id FROM v1_blocks WHERE expires_at < ?", (now,)):
            self._drop_block(block_id)
        for (upload_id,) in self.db.query("SELECT id FROM v2_uploads WHERE expires_at < ?", (now,)):
            self.finish_v2(upload_id)

    # -- v1 ---------------------------------------------------------------------------------
    def _block_file(self, block_id: str) -> Path:
        return self.db.v1_dir / block_id

    def mkblk(self, block_size: int, body: IO[bytes], length: int | None) -> BlockAnswer:
        """Create a block of ``block_size`` bytes holding the body as its first chunk."""
        if not 0 < block_size <= BLOCK:
            raise BadRequest(f"invalid block size {block_size}: 1..{BLOCK}")
        if length is not None and length > block_size:
            raise BadRequest("chunk larger than block")
        block_id = uuid.uuid4().hex
        path = self._block_file(block_id)
        digest = stream_to_file(body, path, length, with_md5=False, limit=block_size)
        expires = int(self.clock()) + SESSION_SECONDS
        sha1 = digest.block_sha1s()[0].hex() if digest.size == block_size else None
        with self.db.tx() as c:
            c.execute("INSERT INTO v1_blocks (id, block_size, size, crc32, sha1, generation, expires_at)"
                      " VALUES (?, ?, ?, ?, ?, 0, ?)",
                      (block_id, block_size, digest.size, digest.crc32, sha1, expires))
        return BlockAnswer(_encode_ctx(block_id, digest.size), digest.sha1_b64(), digest.crc32, digest.size, expires)

    def _live_block(self, ctx: str) -> tuple[str, int, int, int]:
        block_id, offset = _decode_ctx(ctx)
        row = self.db.one("SELECT block_size, size, expires_at FROM v1_blocks WHERE id = ?", (block_id,))
        if row is None or row[1] != offset or row[2] < self.clock():
            raise BadContext()
        return block_id, row[0], row[1], row[2]

    def bput(self, ctx: str, offset: int, body: IO[bytes], length: int | None) -> BlockAnswer:
        """Append the next chunk of a block (``offset`` must equal the bytes received so far)."""
        block_id, block_size, size, expires = self._live_block(ctx)
        if offset != size:
            raise BadContext()
        chunk = temp_path(self.db.tmp_dir, "chunk")
        digest = stream_to_file(body, chunk, length, with_md5=False, limit=block_size - size)
        try:
            with open(self._block_file(block_id), "ab") as out, open(chunk, "rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
        finally:
            remove_quietly(chunk)
        new_size = size + digest.size
        with self.db.tx() as c:
            c.execute("UPDATE v1_blocks SET size = ?, sha1 = NULL, generation = generation + 1 WHERE id = ?",
                      (new_size, block_id))
        return BlockAnswer(_encode_ctx(block_id, new_size), digest.sha1_b64(), digest.crc32, new_size, expires)

    def assemble_v1(self, fsize: int, ctxs: Sequence[str]) -> tuple[Assembled, list[str]]:
        """Check mkfile's ctx list and concatenate the blocks; returns (content, block ids)."""
        blocks = [self._live_block(c) for c in ctxs if c.strip()]
        if not blocks and fsize != 0:
            raise BadRequest("no ctx given")
        for i, (_, block_size, size, _) in enumerate(blocks):
            if size != block_size:
                raise BadRequest("block not complete")
            if i < len(blocks) - 1 and size != BLOCK:
                raise BadRequest("every block but the last must be 4 MiB")
        total = sum(b[2] for b in blocks)
        if total != fsize:
            raise BadRequest(f"file size mismatch: blocks hold {total} bytes, mkfile says {fsize}")
        dest = temp_path(self.db.tmp_dir, "mkfile")
        sha1s: list[bytes] = []
        try:
            for block_id, _, _, _ in blocks:
                row = self.db.one("SELECT sha1 FROM v1_blocks WHERE id = ?", (block_id,))
                known = row[0] if row else None
                sha1s.append(bytes.fromhex(known) if known else _sha1_file(self._block_file(block_id)))
            if len(blocks) == 1:  # one block: the object is that file (a hard link, no copy)
                _link_or_copy(self._block_file(blocks[0][0]), dest)
            else:
                with open(dest, "wb") as out:
                    for block_id, _, _, _ in blocks:
                        with open(self._block_file(block_id), "rb") as src:
                            _copy(src, out)
        except BaseException:
            remove_quietly(dest)
            raise
        return Assembled(dest, total, encode_bin(bin_from_block_sha1s(sha1s))), [b[0] for b in blocks]

    def _drop_block(self, block_id: str) -> None:
        with self.db.tx() as c:
            c.execute("DELETE FROM v1_blocks WHERE id = ?", (block_id,))
        remove_quietly(self._block_file(block_id))

    def finish_v1(self, block_ids: Sequence[str]) -> None:
        """Forget the blocks of a stored mkfile."""
        for block_id in block_ids:
            self._drop_block(block_id)

    # -- v2 ---------------------------------------------------------------------------------
    def initiate(self, bucket: str, obj: str) -> tuple[str, int]:
        """A new uploadId for (bucket, obj) and its expiry (unix seconds)."""
        upload_id = uuid.uuid4().hex
        now = self.clock()
        expires = int(now) + SESSION_SECONDS
        (self.db.v2_dir / upload_id).mkdir(parents=True, exist_ok=True)
        with self.db.tx() as c:
            c.execute("INSERT INTO v2_uploads (id, bucket, obj, created, expires_at) VALUES (?, ?, ?, ?, ?)",
                      (upload_id, bucket, obj, now, expires))
        return upload_id, expires

    def session(self, upload_id: str, bucket: str, obj: str) -> int:
        """The expiry of a live session for exactly this bucket/obj, else 612."""
        row = self.db.one("SELECT bucket, obj, expires_at FROM v2_uploads WHERE id = ?", (upload_id,))
        if row is None or row[0] != bucket or row[1] != obj or row[2] < self.clock():
            raise NoSuchUpload()
        return int(row[2])

    def put_part(self, upload_id: str, bucket: str, obj: str, part_number: int, body: IO[bytes],
                 length: int | None, content_md5: str | None) -> PartInfo:
        """Store (or replace) one part; a wrong Content-MD5 -> 400 and nothing stored."""
        self.session(upload_id, bucket, obj)
        if not 1 <= part_number <= MAX_PART_NUMBER:
            raise BadRequest(f"invalid partNumber {part_number}: 1..{MAX_PART_NUMBER}")
        if fits_in_memory(length, MAX_PART):
            assert length is not None
            data, digest = read_in_memory(body, length, with_crc=False)
            _check_md5(content_md5, digest.md5 or "")
            stride = self._claim_in_place(upload_id, part_number, len(data))
            if stride is not None:
                try:
                    self._write_in_place(upload_id, (part_number - 1) * stride, data)
                    return self._record_part(upload_id, part_number, digest.size, digest.etag,
                                             digest.md5 or "", f"@{stride}")
                finally:
                    with self._place_lock:
                        self._writing.discard((upload_id, part_number))
            tmp = temp_path(self.db.tmp_dir, "part")
            with open(tmp, "wb") as out:
                out.write(data)
        else:
            tmp = temp_path(self.db.tmp_dir, "part")
            digest = stream_to_file(body, tmp, length, with_crc=False, limit=MAX_PART)
            try:
                _check_md5(content_md5, digest.md5 or "")
            except BadRequest:
                remove_quietly(tmp)
                raise
        name = f"{part_number}-{uuid.uuid4().hex[:8]}"
        final = self.db.v2_dir / upload_id / name
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        return self._record_part(upload_id, part_number, digest.size, digest.etag, digest.md5 or "", name)

    def _record_part(self, upload_id: str, part_number: int, size: int, etag: str, md5: str,
                     name: str) -> PartInfo:
        put_time = int(self.clock())
        with self.db.tx() as c:
            old = c.execute("SELECT file FROM v2_parts WHERE upload_id = ? AND part_number = ?",
                            (upload_id, part_number)).fetchone()
            c.execute("INSERT OR REPLACE INTO v2_parts (upload_id, part_number, size, etag, md5, put_time, file)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (upload_id, part_number, size, etag, md5, put_time, name))
        if old is not None and old[0] != name and not str(old[0]).startswith("@"):
            remove_quietly(self.db.v2_dir / upload_id / old[0])
        return PartInfo(part_number, size, etag, md5, put_time)

    def _claim_in_place(self, upload_id: str, part_number: int, size: int) -> int | None:
        """The stride to write this part in place with, or None (a file of its own)."""
        with self._place_lock:
            if upload_id in self._sealed or (upload_id, part_number) in self._writing:
                return None
            stride = self._strides.get(upload_id)
            rows = None
            if stride is None:
                rows = self.db.query("SELECT part_number, file FROM v2_parts WHERE upload_id = ?", (upload_id,))
                stride = next((int(f[1:]) for _, f in rows if str(f).startswith("@")), None)
                if stride is None:
                    stride = size  # the session's first part in place fixes the stride
                self._strides[upload_id] = stride
            if size > stride or size == 0:
                return None
            if rows is None:
                rows = self.db.query("SELECT part_number, file FROM v2_parts WHERE upload_id = ? AND part_number = ?",
                                     (upload_id, part_number))
            if any(n == part_number for n, _ in rows):
                return None  # a re-upload: never overwrite bytes a stored row describes
            self._writing.add((upload_id, part_number))
            return stride

    def _write_in_place(self, upload_id: str, offset: int, data: bytes) -> None:
        folder = self.db.v2_dir / upload_id
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ASSEMBLY, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.pwrite(fd, view, offset)
                view = view[written:]
                offset += written
        finally:
            os.close(fd)

    def list_parts(self, upload_id: str, bucket: str, obj: str, max_parts: int = 1000,
                   marker: int = 0) -> tuple[list[PartInfo], int, int]:
        """(parts after ``marker``, next marker (0 = done), expiry)."""
        expires = self.session(upload_id, bucket, obj)
        max_parts = max(1, min(max_parts, 1000))
        rows = self.db.query(
            "SELECT part_number, size, etag, md5, put_time FROM v2_parts WHERE upload_id = ? AND part_number > ?"
            " ORDER BY part_number LIMIT ?", (upload_id, marker, max_parts + 1))
        parts = [PartInfo(*r) for r in rows[:max_parts]]
        next_marker = parts[-1].part_number if len(rows) > max_parts else 0
        return parts, next_marker, expires

    def assemble_v2(self, upload_id: str, bucket: str, obj: str, wanted: Sequence[Any]) -> Assembled:
        """Check complete's ``parts`` list and concatenate those parts into a temp file."""
        self.session(upload_id, bucket, obj)
        if not isinstance(wanted, list) or not wanted:
            raise BadRequest("parts must be a non-empty list")
        rows = {r[0]: r for r in self.db.query(
            "SELECT part_number, size, etag, file FROM v2_parts WHERE upload_id = ?", (upload_id,))}
        chosen: list[tuple[Any, ...]] = []
        last = 0
        for item in wanted:
            if not isinstance(item, dict):
                raise BadRequest("each part must be {\"partNumber\": n, \"etag\": \"...\"}")
            number, etag = item.get("partNumber"), item.get("etag")
            if not isinstance(number, int) or not isinstance(etag, str):
                raise BadRequest("each part must be {\"partNumber\": n, \"etag\": \"...\"}")
            if number <= last:
                raise BadRequest("parts must be in ascending partNumber order")
            last = number
            row = rows.get(number)
            if row is None or row[2] != etag:
                raise BadRequest(f"part {number}: unknown part or etag mismatch")
            chosen.append(row)
        for row in chosen[:-1]:
            if row[1] < MIN_PART:
                raise BadRequest(f"part {row[0]} is smaller than 1 MiB and is not the last part")
        dest = temp_path(self.db.tmp_dir, "complete")
        sizes = [r[1] for r in chosen]
        etag = etag_from_parts(sizes, [r[2] for r in chosen])
        if self._link_assembly(upload_id, chosen, len(rows), dest):
            return Assembled(dest, sum(sizes), etag, tuple(sizes))
        folder = self.db.v2_dir / upload_id
        try:
            if len(chosen) == 1 and not str(chosen[0][3]).startswith("@"):
                # one part: the object is that file (a hard link, no copy)
                _link_or_copy(folder / chosen[0][3], dest)
            else:
                with open(dest, "wb") as out:
                    for number, size, _etag, name in chosen:
                        if str(name).startswith("@"):
                            with open(folder / ASSEMBLY, "rb") as src:
                                _copy_range(src, out, (number - 1) * int(name[1:]), size)
                        else:
                            with open(folder / name, "rb") as src:
                                _copy(src, out)
        except BaseException:
            remove_quietly(dest)
            raise
        return Assembled(dest, sum(sizes), etag, tuple(sizes))

    def _link_assembly(self, upload_id: str, chosen: list[tuple[Any, ...]], stored: int, dest: Path) -> bool:
        """Make ``dest`` the assembly file itself when it holds exactly the object (see the
        module docstring); False when the parts must be concatenated instead."""
        numbers = [int(r[0]) for r in chosen]
        if stored != len(chosen) or numbers != list(range(1, len(chosen) + 1)):
            return False
        if not all(str(r[3]).startswith("@") for r in chosen):
            return False
        stride = int(str(chosen[0][3])[1:])
        if any(int(str(r[3])[1:]) != stride for r in chosen) or any(r[1] != stride for r in chosen[:-1]):
            return False
        total = stride * (len(chosen) - 1) + int(chosen[-1][1])
        assembly = self.db.v2_dir / upload_id / ASSEMBLY
        with self._place_lock:
            if self._writing & {(upload_id, n) for n in numbers}:
                return False
            self._sealed.add(upload_id)  # until finish_v2 / a refused complete: no writes into it
        try:
            os.truncate(assembly, total)
            os.link(assembly, dest)
        except OSError:
            self.release_v2(upload_id)
            return False
        return True

    def release_v2(self, upload_id: str) -> None:
        """A complete that used the assembly file did not store the object: parts may again be
        written into it."""
        with self._place_lock:
            self._sealed.discard(upload_id)

    def abort(self, upload_id: str, bucket: str, obj: str) -> None:
        """Drop a session and its parts (612 when unknown)."""
        self.session(upload_id, bucket, obj)
        self.finish_v2(upload_id)

    def finish_v2(self, upload_id: str) -> None:
        """Forget a session (after complete or abort)."""
        with self.db.tx() as c:
            c.execute("DELETE FROM v2_parts WHERE upload_id = ?", (upload_id,))
            c.execute("DELETE FROM v2_uploads WHERE id = ?", (upload_id,))
        shutil.rmtree(self.db.v2_dir / upload_id, ignore_errors=True)
        with self._place_lock:
            self._strides.pop(upload_id, None)
            self._sealed.discard(upload_id)

    def count_sessions(self) -> dict[str, int]:
        """Open v1 blocks and v2 uploads (stats, tests)."""
        v1 = self.db.one("SELECT COUNT(*) FROM v1_blocks")
        v2 = self.db.one("SELECT COUNT(*) FROM v2_uploads")
        return {"v1_blocks": int(v1[0]) if v1 else 0, "v2_uploads": int(v2[0]) if v2 else 0}


def _check_md5(content_md5: str | None, md5_hex: str) -> None:
    if content_md5 and not _md5_matches(content_md5, md5_hex):
        raise BadRequest("Content-MD5 does not match the part")


def _md5_matches(header: str, md5_hex: str) -> bool:
    """Content-MD5 as the SDK sends it (hex) or as RFC 1864 says (base64 of the digest)."""
    value = header.strip()
    if value.lower() == md5_hex:
        return True
    try:
        return base64.b64decode(value, validate=True).hex() == md5_hex
    except (ValueError, binascii.Error):
        return False


def _link_or_copy(src: Path, dest: Path) -> None:
    """``dest`` becomes ``src``'s bytes: a hard link (parts are never rewritten in place, and
    the session folder is removed after complete), or a copy where links are not allowed."""
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def _copy(src: IO[bytes], out: IO[bytes]) -> None:
    """Append ``src`` to ``out``: in-kernel where the OS allows it, buffered otherwise."""
    out.flush()
    base = out.seek(0, os.SEEK_END)
    try:
        size = os.fstat(src.fileno()).st_size
        done = 0
        while done < size:
            n = os.copy_file_range(src.fileno(), out.fileno(), size - done, 0 + done, base + done)
            if n == 0:
                break
            done += n
        if done == size:
            out.seek(base + size)
            return
    except (AttributeError, OSError):
        pass
    out.seek(base)
    out.truncate()
    src.seek(0)
    shutil.copyfileobj(src, out, 1024 * 1024)


def _copy_range(src: IO[bytes], out: IO[bytes], offset: int, size: int) -> None:
    """Append ``size`` bytes of ``src`` from ``offset`` to ``out`` (in-kernel where possible)."""
    out.flush()
    base = out.seek(0, os.SEEK_END)
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(src.fileno(), out.fileno(), size - done, offset + done, base + done)
            if n == 0:
                break
            done += n
    except (AttributeError, OSError):
        done = 0
    if done != size:
        out.seek(base)
        out.truncate()
        out.write(os.pread(src.fileno(), size, offset))
    out.seek(base + size)


def _sha1_file(path: Path) -> bytes:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.digest()
