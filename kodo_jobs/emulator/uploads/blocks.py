"""v1 resumable uploads: blocks (``mkblk`` / ``bput``) stitched by ``mkfile``.

``mkblk`` creates a block holding its first chunk; ``bput`` appends the next chunk; each answer
carries a new ctx (``<block id>:<offset>``, base64), valid only for the next chunk and for
``mkfile``. A stale, foreign or expired ctx -> 701. :meth:`Blocks.assemble` checks mkfile's
ctx list and concatenates the blocks into a temp file. Block rows live in ``v1_blocks`` and
their bytes in ``<data>/uploads/v1/<id>``.
"""

from __future__ import annotations

import base64
import binascii
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kodo_jobs.emulator.bodies import remove_quietly, stream_to_file, temp_path
from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.errors import BadContext, BadRequest
from kodo_jobs.emulator.etag import BLOCK, bin_from_block_sha1s, encode_bin
from kodo_jobs.emulator.uploads.assembled import Assembled
from kodo_jobs.emulator.uploads.filecopy import append_file, link_or_copy, sha1_file

LiveBlock = tuple[str, int, int, int]
"""(block id, block size, bytes received, expiry in unix seconds)."""


@dataclass(frozen=True)
class BlockAnswer:
    """What mkblk / bput answer."""

    ctx: str
    checksum: str
    crc32: int
    offset: int
    expired_at: int


def _encode_ctx(block_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{block_id}:{offset}".encode()).decode()


def _decode_ctx(ctx: str) -> tuple[str, int]:
    try:
        block_id, _, offset = base64.urlsafe_b64decode(ctx + "=" * (-len(ctx) % 4)).decode().partition(":")
        return block_id, int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadContext() from exc


class Blocks:
    """v1 blocks; see the module docstring. ``lifetime``: seconds a block stays usable."""

    def __init__(self, db: Database, *, clock: Callable[[], float], lifetime: int) -> None:
        self.db = db
        self.clock = clock
        self.lifetime = lifetime

    def _file(self, block_id: str) -> Path:
        return self.db.v1_dir / block_id

    def mkblk(self, block_size: int, body: IO[bytes], length: int | None) -> BlockAnswer:
        """Create a block of ``block_size`` bytes holding the body as its first chunk."""
        if not 0 < block_size <= BLOCK:
            raise BadRequest(f"invalid block size {block_size}: 1..{BLOCK}")
        if length is not None and length > block_size:
            raise BadRequest("chunk larger than block")
        block_id = uuid.uuid4().hex
        path = self._file(block_id)
        digest = stream_to_file(body, path, length, with_md5=False, limit=block_size)
        expires = int(self.clock()) + self.lifetime
        sha1 = digest.block_sha1s()[0].hex() if digest.size == block_size else None
        with self.db.tx() as c:
            c.execute("INSERT INTO v1_blocks (id, block_size, size, crc32, sha1, generation, expires_at)"
                      " VALUES (?, ?, ?, ?, ?, 0, ?)",
                      (block_id, block_size, digest.size, digest.crc32, sha1, expires))
        return BlockAnswer(_encode_ctx(block_id, digest.size), digest.sha1_b64(), digest.crc32, digest.size, expires)

    def _live(self, ctx: str) -> LiveBlock:
        block_id, offset = _decode_ctx(ctx)
        row = self.db.one("SELECT block_size, size, expires_at FROM v1_blocks WHERE id = ?", (block_id,))
        if row is None or row[1] != offset or row[2] < self.clock():
            raise BadContext()
        return block_id, row[0], row[1], row[2]

    def bput(self, ctx: str, offset: int, body: IO[bytes], length: int | None) -> BlockAnswer:
        """Append the next chunk of a block (``offset`` must equal the bytes received so far)."""
        block_id, block_size, size, expires = self._live(ctx)
        if offset != size:
            raise BadContext()
        chunk = temp_path(self.db.tmp_dir, "chunk")
        digest = stream_to_file(body, chunk, length, with_md5=False, limit=block_size - size)
        try:
            with open(self._file(block_id), "ab") as out, open(chunk, "rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
        finally:
            remove_quietly(chunk)
        new_size = size + digest.size
        with self.db.tx() as c:
            c.execute("UPDATE v1_blocks SET size = ?, sha1 = NULL, generation = generation + 1 WHERE id = ?",
                      (new_size, block_id))
        return BlockAnswer(_encode_ctx(block_id, new_size), digest.sha1_b64(), digest.crc32, new_size, expires)

    def assemble(self, fsize: int, ctxs: Sequence[str]) -> tuple[Assembled, list[str]]:
        """Check mkfile's ctx list and concatenate the blocks; returns (content, block ids)."""
        blocks = [self._live(c) for c in ctxs if c.strip()]
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
                sha1s.append(bytes.fromhex(known) if known else sha1_file(self._file(block_id)))
            if len(blocks) == 1:  # one block: the object is that file (a hard link, no copy)
                link_or_copy(self._file(blocks[0][0]), dest)
            else:
                with open(dest, "wb") as out:
                    for block_id, _, _, _ in blocks:
                        with open(self._file(block_id), "rb") as src:
                            append_file(src, out)
        except BaseException:
            remove_quietly(dest)
            raise
        return Assembled(dest, total, encode_bin(bin_from_block_sha1s(sha1s))), [b[0] for b in blocks]

    def drop(self, block_id: str) -> None:
        """Forget one block and its bytes."""
        with self.db.tx() as c:
            c.execute("DELETE FROM v1_blocks WHERE id = ?", (block_id,))
        remove_quietly(self._file(block_id))

    def finish(self, block_ids: Sequence[str]) -> None:
        """Forget the blocks of a stored mkfile."""
        for block_id in block_ids:
            self.drop(block_id)

    def purge_expired(self) -> None:
        """Forget blocks whose lifetime is over, and their bytes."""
        for (block_id,) in self.db.query("SELECT id FROM v1_blocks WHERE expires_at < ?", (int(self.clock()),)):
            self.drop(block_id)

    def count(self) -> int:
        """Open blocks."""
        row = self.db.one("SELECT COUNT(*) FROM v1_blocks")
        return int(row[0]) if row else 0
