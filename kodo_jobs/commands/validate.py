"""`kodo-jobs validate` (being built)."""

from __future__ import annotations

from typing import Any

from kodo_jobs.errors import UsageError


def validate(*args: Any, **kwargs: Any) -> int:
    """Placeholder until the command lands."""
    raise UsageError("kodo-jobs validate: not available yet")
