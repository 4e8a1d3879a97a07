"""A batch job skips the per-entry filter only when ``prefix`` is its sole criterion."""

from __future__ import annotations

from typing import Any

import pytest

from kodo_jobs.jobs.select import from_spec


def test_prefix_alone_needs_no_filtering() -> None:
    assert from_spec({"prefix": "logs/"}).prefix_only
    assert from_spec({}).prefix_only


@pytest.mark.parametrize("criterion", [
    {"suffix": ".gz"}, {"glob": "*.gz"}, {"older_than": "1d"}, {"newer_than": "1d"}, {"min_size": 1},
    {"max_size": "1KiB"}, {"storage": "ia"}, {"mime": "image/*"},
])
def test_every_other_criterion_keeps_the_filter(criterion: dict[str, Any]) -> None:
    assert not from_spec({"prefix": "logs/", **criterion}).prefix_only
