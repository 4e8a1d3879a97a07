""""Did you mean ...?" hints for misspelt field names, kinds and job names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most similar to ``word``, if any is close enough to be a plausible typo."""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered:
        return lowered[word.lower()]
    snake = word.replace("-", "_")
    if snake in options:
        return snake
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or an empty string."""
    match = closest(word, choices)
    return f"; did you mean {match!r}?" if match is not None else ""
