"""v2 resumable uploads: sessions (``uploadId``) and their parts.

``initiate`` / ``put_part`` (Content-MD5 checked, re-upload replaces) / ``list_parts`` /
``abort``; :meth:`Sessions.assemble` checks the complete request's part list (ascending, etags
match, parts but the last >= 1 MiB) and concatenates the parts. Unknown, foreign or finished
id -> 612. Rows live in ``v2_uploads`` / ``v2_parts``, bytes under ``<data>/uploads/v2/<id>/``:
a file per part, or the session's assembly file for parts written in place (:mod:`.in_place`).
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from kodo_jobs.emulator.bodies import (
    fits_in_memory,
    read_in_memory,
    remove_quietly,
    stream_to_file,
    temp_path,
)
from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.errors import BadRequest, NoSuchUpload
from kodo_jobs.emulator.etag import etag_from_parts
from kodo_jobs.emulator.uploads.assembled import Assembled
from kodo_jobs.emulator.uploads.filecopy import append_file, append_range, link_or_copy
from kodo_jobs.emulator.uploads.in_place import ASSEMBLY, InPlace, PartRow, in_place

MIN_PART = 1024 * 1024
MAX_PART = 1024 * 1024 * 1024
MAX_PART_NUMBER = 10000
_PART_SHAPE = "each part must be {\"partNumber\": n, \"etag\": \"...\"}"


@dataclass(frozen=True)
class PartInfo:
    """One stored v2 part."""

    part_number: int
    size: int
    etag: str
    md5: str
    put_time: int


class Sessions:
    """v2 upload sessions; see the module docstring. ``lifetime``: seconds a session lives."""

    def __init__(self, db: Database, *, clock: Callable[[], float], lifetime: int) -> None:
        self.db = db
        self.clock = clock
        self.lifetime = lifetime
        self.in_place = InPlace(db)

    def initiate(self, bucket: str, obj: str) -> tuple[str, int]:
        """A new uploadId for (bucket, obj) and its expiry (unix seconds)."""
        upload_id = uuid.uuid4().hex
        now = self.clock()
        expires = int(now) + self.lifetime
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
            stride = self.in_place.claim(upload_id, part_number, len(data))
            if stride is not None:
                try:
                    self.in_place.write(upload_id, (part_number - 1) * stride, data)
                    return self._record_part(upload_id, part_number, digest.size, digest.etag,
                                             digest.md5 or "", f"@{stride}")
                finally:
                    self.in_place.done(upload_id, part_number)
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
            old: tuple[str] | None = c.execute("SELECT file FROM v2_parts WHERE upload_id = ? AND part_number = ?",
                                               (upload_id, part_number)).fetchone()
            c.execute("INSERT OR REPLACE INTO v2_parts (upload_id, part_number, size, etag, md5, put_time, file)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (upload_id, part_number, size, etag, md5, put_time, name))
        if old is not None and old[0] != name and not in_place(old[0]):
            remove_quietly(self.db.v2_dir / upload_id / old[0])
        return PartInfo(part_number, size, etag, md5, put_time)

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

    def _chosen(self, wanted: object, rows: dict[int, PartRow]) -> list[PartRow]:
        """The stored parts complete's ``parts`` list names (a JSON value from the request),
        checked: well-formed, ascending, known etags, all but the last >= 1 MiB."""
        if not isinstance(wanted, list) or not wanted:
            raise BadRequest("parts must be a non-empty list")
        chosen: list[PartRow] = []
        last = 0
        for item in wanted:
            if not isinstance(item, dict):
                raise BadRequest(_PART_SHAPE)
            number, etag = item.get("partNumber"), item.get("etag")
            if not isinstance(number, int) or not isinstance(etag, str):
                raise BadRequest(_PART_SHAPE)
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
        return chosen

    def assemble(self, upload_id: str, bucket: str, obj: str, wanted: object) -> Assembled:
        """Check complete's ``parts`` list and concatenate those parts into a temp file (or
        link the assembly file, see :mod:`.in_place`)."""
        self.session(upload_id, bucket, obj)
        stored: list[PartRow] = self.db.query(
            "SELECT part_number, size, etag, file FROM v2_parts WHERE upload_id = ?", (upload_id,))
        rows = {r[0]: r for r in stored}
        chosen = self._chosen(wanted, rows)
        dest = temp_path(self.db.tmp_dir, "complete")
        sizes = [r[1] for r in chosen]
        etag = etag_from_parts(sizes, [r[2] for r in chosen])
        if self.in_place.link(upload_id, chosen, len(rows), dest):
            return Assembled(dest, sum(sizes), etag, tuple(sizes))
        folder = self.db.v2_dir / upload_id
        try:
            if len(chosen) == 1 and not in_place(chosen[0][3]):
                # one part: the object is that file (a hard link, no copy)
                link_or_copy(folder / chosen[0][3], dest)
            else:
                with open(dest, "wb") as out:
                    for number, size, _etag, name in chosen:
                        if in_place(name):
                            with open(folder / ASSEMBLY, "rb") as src:
                                append_range(src, out, (number - 1) * int(name[1:]), size)
                        else:
                            with open(folder / name, "rb") as src:
                                append_file(src, out)
        except BaseException:
            remove_quietly(dest)
            raise
        return Assembled(dest, sum(sizes), etag, tuple(sizes))

    def release(self, upload_id: str) -> None:
        """A complete did not store the object (614, 403 ...): the session stays usable."""
        self.in_place.release(upload_id)

    def abort(self, upload_id: str, bucket: str, obj: str) -> None:
        """Drop a session and its parts (612 when unknown)."""
        self.session(upload_id, bucket, obj)
        self.finish(upload_id)

    def finish(self, upload_id: str) -> None:
        """Forget a session (after complete or abort)."""
        with self.db.tx() as c:
            c.execute("DELETE FROM v2_parts WHERE upload_id = ?", (upload_id,))
            c.execute("DELETE FROM v2_uploads WHERE id = ?", (upload_id,))
        shutil.rmtree(self.db.v2_dir / upload_id, ignore_errors=True)
        self.in_place.forget(upload_id)

    def purge_expired(self) -> None:
        """Forget sessions whose lifetime is over, and their bytes."""
        for (upload_id,) in self.db.query("SELECT id FROM v2_uploads WHERE expires_at < ?", (int(self.clock()),)):
            self.finish(upload_id)

    def count(self) -> int:
        """Open sessions."""
        row = self.db.one("SELECT COUNT(*) FROM v2_uploads")
        return int(row[0]) if row else 0


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
