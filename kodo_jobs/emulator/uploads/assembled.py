"""``Assembled``: what a finished upload hands to the store, whichever way it arrived."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Assembled:
    """A completed upload's content, ready for ``Store.put_object``: in a temp file (``path``),
    or in memory (``data``, a small form upload: no file is written for it)."""

    path: Path | None
    fsize: int
    hash: str
    parts: tuple[int, ...] | None = None
    data: bytes | None = None
