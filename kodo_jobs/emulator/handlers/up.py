"""up: form upload, resumable v1 and v2 (being built)."""

from __future__ import annotations

from werkzeug.routing import Rule

RULES: list[Rule] = []
