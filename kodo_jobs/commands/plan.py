"""`kodo-jobs plan` (being built)."""

from __future__ import annotations

from typing import Any

from kodo_jobs.errors import UsageError


def plan(*args: Any, **kwargs: Any) -> int:
    """Placeholder until the command lands."""
    raise UsageError("kodo-jobs plan: not available yet")
