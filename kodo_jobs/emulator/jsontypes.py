"""The emulator's JSON boundary: request and answer bodies as Kodo writes them.

Bodies are built from typed values (``ObjectInfo.to_json``, the handlers' answers) and read field
by field with checks that answer Kodo's own 400s. The values inside are ``Any`` on purpose, as in
:mod:`kodo_jobs.kodo.jsontypes` (the emulator imports nothing from the client, so it names its
own): a recursive JSON type would force the same checks again at every read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

JsonObject: TypeAlias = dict[str, Any]
"""A JSON object being read or built (a request or answer body)."""

JsonMapping: TypeAlias = Mapping[str, Any]
"""A JSON object only read."""

__all__ = ["JsonMapping", "JsonObject"]
