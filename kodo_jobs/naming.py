"""Kodo's naming rules, in one place for the manifest (validate time) and the emulator.

* Bucket names: 3-63 characters of lowercase letters, digits and ``-``, starting and ending with
  a letter or digit (Qiniu's ``mkbucketv3`` rule; Kodo answers 400 to any other name, so no such
  bucket can exist).
* Object keys: at most 750 bytes of UTF-8 (kodo-protocol.md section 2.5); a prefix is the start
  of a key, so the same limit applies to it.

This module imports nothing from the rest of the package, so both the manifest (which must
not talk to Kodo) and the emulator (which must not share code with the client) can use it.
"""

from __future__ import annotations

import re

BUCKET_PATTERN = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
"""A Kodo bucket name (also the JSON-schema pattern)."""
_BUCKET_RE = re.compile(BUCKET_PATTERN)
BUCKET_RULE = "3-63 lowercase letters, digits or '-', starting and ending with a letter or digit"

MAX_KEY_BYTES = 750
"""Kodo's limit on an object key, in bytes of UTF-8."""


def bucket_problem(name: str) -> str | None:
    """Why ``name`` cannot be a Kodo bucket name (None when it can)."""
    if _BUCKET_RE.match(name):
        return None
    return f"{name!r} is not a Kodo bucket name: use {BUCKET_RULE}"


def key_bytes_problem(text: str, what: str = "a key") -> str | None:
    """Why ``text`` is too long for ``what`` (a key or a prefix), in UTF-8 bytes; None if it fits."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size <= MAX_KEY_BYTES:
        return None
    return f"{what} may have at most {MAX_KEY_BYTES} bytes of UTF-8 (this one has {size})"
