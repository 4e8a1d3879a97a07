"""The one place that builds response values: JSON bodies, empty successes and Kodo errors.

``app`` adds ``X-Reqid`` and ``X-Log`` to every response it sends (the official SDK drops the
body of a response without ``X-Reqid``), so handlers never set them.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from kodo_jobs.emulator.errors import EmulatorError

JSON_TYPE = "application/json"


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON body with ``Content-Type: application/json`` (one buffer, one write)."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(body, status=status, headers=headers, content_type=JSON_TYPE)


def empty_ok() -> Response:
    """200 with an empty JSON object: what rs answers for commands without data."""
    return Response(b"{}", status=200, content_type=JSON_TYPE)


def error_response(err: EmulatorError, headers: dict[str, str] | None = None) -> Response:
    """Kodo's error body ``{"error": "..."}`` with the error's status."""
    return json_response({"error": err.message}, status=err.status, headers=headers)


def raw_error(status: int, message: str) -> Response:
    """An error answer that is not a domain error (fault injection, unexpected crashes)."""
    return json_response({"error": message}, status=status)
