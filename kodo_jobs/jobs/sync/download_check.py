"""How a downloaded file is checked before it replaces its target (issue 15 item 2).

Rule: no object is accepted without a check that one flipped byte would fail.

1. a standard qetag (every hash not starting with ``n``): the file's qetag;
2. a v2 hash (``n...``: a multipart upload whose parts are not all 4 MiB): the hash recomputed
   with the object's own part sizes, which ``stat?needparts=true`` lists;
3. else an ``md5`` the listing or the stat gives: the file's MD5;
4. else nothing can check the bytes: such a file is never resumed from a part file (a part
   file damaged while the run was dead would go unnoticed); it is fetched whole in one answer
   and the report marks it ``"verified": "none"`` with the reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kodo_jobs.kodo.etag import etag_file, etag_file_parts

Method = Literal["etag", "etag-v2", "md5", "none"]


@dataclass(frozen=True, slots=True)
class Check:
    """What a finished part file must match: ``method`` and ``expected`` (``parts`` for v2)."""

    method: Method
    expected: str
    parts: tuple[int, ...] = ()
    reason: str = ""
    """For ``none``: why no check is possible (said in the report)."""

    @property
    def resumable(self) -> bool:
        """Whether bytes kept from an earlier run may be reused (only when they get checked)."""
        return self.method != "none"


def choose(hash_: str, size: int, parts: Sequence[int] | None, md5: str) -> Check:
    """The strongest check available for an object (see the module docstring)."""
    if not hash_.startswith("n"):
        return Check("etag", hash_)
    if parts and all(isinstance(p, int) and p >= 0 for p in parts) and sum(parts) == size:
        return Check("etag-v2", hash_, tuple(parts))
    if len(md5) == 32 and all(c in "0123456789abcdefABCDEF" for c in md5):
        return Check("md5", md5.lower())
    return Check("none", "", reason=f"hash {hash_} is a v2 multipart hash, the server gave neither the part "
                                    "sizes nor an md5: the content cannot be checked")


def digest(path: Path, check: Check) -> str:
    """The value of ``path`` to compare with ``check.expected`` (empty for ``none``)."""
    if check.method == "etag":
        return etag_file(path)
    if check.method == "etag-v2":
        return etag_file_parts(path, check.parts)
    if check.method == "md5":
        h = hashlib.md5(usedforsecurity=False)
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()
    return ""


__all__ = ["Check", "Method", "choose", "digest"]
