"""List markers and key ranges: what rsf hands back as ``marker`` and how a prefix bounds a range.

A marker is opaque to clients: urlsafe base64 of ``{"c":0,"k":key}``, plus ``"g":1`` when the
page ended on a delimiter group (the next page then starts after every key of that group).
A marker we did not make is ``BadMarker`` (640), as on Kodo.
"""

from __future__ import annotations

import base64
import binascii
import json

from kodo_jobs.emulator.errors import BadMarker


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
    doc: dict[str, str | int] = {"c": 0, "k": key}
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
