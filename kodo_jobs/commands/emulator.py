"""`kodo-jobs emulator` (being built)."""

from __future__ import annotations

from typing import Any

from kodo_jobs.errors import UsageError


def emulator(*args: Any, **kwargs: Any) -> int:
    """Placeholder until the command lands."""
    raise UsageError("kodo-jobs emulator: not available yet")
