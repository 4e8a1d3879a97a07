"""``UploadState``: the state of an unfinished resumable upload, as a small JSON value.

The executor persists it after every finished part and hands it back to
``upload_file(resume=...)`` in any later process. It holds no secret (no token).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import Literal

from ..jsontypes import JsonMapping

FORMAT = 1


@dataclass(frozen=True, slots=True)
class FinishedPart:
    """A part the server has: number, its v2 etag or v1 ctx, its size."""

    number: int
    etag: str
    size: int


@dataclass(frozen=True, slots=True)
class UploadState:
    """Everything needed to finish an upload elsewhere: ids, part size, parts, fingerprint."""

    version: Literal["v1", "v2"]
    bucket: str
    key: str
    part_size: int
    file_size: int
    mtime_ns: int
    expires_at: int
    upload_id: str = ""
    parts: tuple[FinishedPart, ...] = ()

    def with_part(self, part: FinishedPart, expires_at: int | None = None) -> UploadState:
        """A copy with ``part`` added (replacing one of the same number), parts kept in order."""
        parts = {p.number: p for p in self.parts}
        parts[part.number] = part
        expiry = self.expires_at if expires_at is None else min(self.expires_at, expires_at)
        return replace(self, parts=tuple(parts[n] for n in sorted(parts)), expires_at=expiry)

    @property
    def finished_numbers(self) -> frozenset[int]:
        """Numbers of the finished parts."""
        return frozenset(p.number for p in self.parts)

    @property
    def bytes_done(self) -> int:
        """Bytes the server already holds."""
        return sum(p.size for p in self.parts)

    def expired(self, now: float | None = None, margin: int = 60) -> bool:
        """True when the upload id / ctxs are (about to be) past their expiry."""
        return self.expires_at <= int(time.time() if now is None else now) + margin

    def matches(self, bucket: str, key: str, file_size: int, mtime_ns: int) -> bool:
        """True when this state belongs to the same object and unchanged file."""
        return (self.bucket, self.key, self.file_size, self.mtime_ns) == (bucket, key, file_size, mtime_ns)

    def to_json(self) -> str:
        """Compact JSON (stable key order)."""
        return json.dumps({
            "format": FORMAT, "version": self.version, "bucket": self.bucket, "key": self.key,
            "upload_id": self.upload_id, "part_size": self.part_size, "file_size": self.file_size,
            "mtime_ns": self.mtime_ns, "expires_at": self.expires_at,
            "parts": [[p.number, p.etag, p.size] for p in self.parts],
        }, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> UploadState:
        """Parse :meth:`to_json` output; anything else raises ``ValueError``."""
        try:
            data: JsonMapping = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            if data.get("format") != FORMAT:
                raise ValueError(f"unknown upload state format {data.get('format')!r}")
            version = data["version"]
            if version not in ("v1", "v2"):
                raise ValueError(f"unknown upload version {version!r}")
            parts = tuple(FinishedPart(int(n), str(e), int(s)) for n, e, s in data["parts"])
            return cls(version=version, bucket=str(data["bucket"]), key=str(data["key"]),
                       upload_id=str(data.get("upload_id", "")), part_size=int(data["part_size"]),
                       file_size=int(data["file_size"]), mtime_ns=int(data["mtime_ns"]),
                       expires_at=int(data["expires_at"]), parts=parts)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not an upload state: {exc}") from exc
