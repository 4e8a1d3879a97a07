"""The client's JSON boundary: a body as Kodo sends it, parsed but not yet checked.

Every answer body is read here field by field with conversions that raise ``ServerError`` on
a malformed answer (``int(item["fsize"])``, ``str(body.get("hash", ""))``), into typed values
(:class:`~kodo_jobs.kodo.rsf.ListEntry`, :class:`~kodo_jobs.kodo.rs.ObjectStat`, ...). The values
inside are ``Any`` on purpose: a recursive JSON type would force the same checks again as
``isinstance`` narrowing at every read. Nothing above ``kodo/`` should need these names except to
carry an answer's raw fields (``raw``) through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

JsonObject: TypeAlias = dict[str, Any]
"""A JSON object being read or built (a request or answer body)."""

JsonMapping: TypeAlias = Mapping[str, Any]
"""A JSON object only read (an answer body, a listing item, the raw fields kept on a value)."""

__all__ = ["JsonMapping", "JsonObject"]
