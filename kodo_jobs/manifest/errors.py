"""``ManifestError``: every located problem of a manifest, reported at once (exit code 2).

``str(error)`` is one line per problem, compiler style::

    media.yaml:14:5: jobs[1].max_delete: must be >= 0 (got -3)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kodo_jobs.errors import EXIT_INVALID, KodoJobsError


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem: file, 1-based line and column, field path, message."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ManifestError(KodoJobsError):
    """The manifest is invalid; ``problems`` lists every problem found (exit 2)."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
