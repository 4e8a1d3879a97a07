"""Table tests for the pure sync verdicts (kodo_jobs.jobs.sync.compare)."""

from __future__ import annotations

import pytest

from kodo_jobs.jobs.sync.compare import EtagRequired, Side, Verdict, needs_etag, verdict

S = Side


@pytest.mark.parametrize(
    ("source", "dest", "mode", "expected"),
    [
        # one side only
        (S(1, 0, "a"), None, "etag", Verdict.MISSING),
        (S(1, 0), None, "size", Verdict.MISSING),
        (None, S(1, 0, "a"), "etag", Verdict.EXTRA),
        (None, S(1, 0), "size-mtime", Verdict.EXTRA),
        # etag: size differs -> differ without any etag
        (S(1, 0), S(2, 0, "x"), "etag", Verdict.DIFFER),
        (S(3, 0, "h"), S(3, 0, "h"), "etag", Verdict.MATCH),
        (S(3, 0, "h"), S(3, 0, "k"), "etag", Verdict.DIFFER),
        # etag mode ignores times
        (S(3, 99, "h"), S(3, 1, "h"), "etag", Verdict.MATCH),
        # size
        (S(3, 0, "h"), S(3, 0, "k"), "size", Verdict.MATCH),
        (S(3, 0), S(4, 0), "size", Verdict.DIFFER),
        (S(0, 0), S(0, 0), "size", Verdict.MATCH),
        # size-mtime: source newer than dest -> differ; same time or older -> match
        (S(3, 200), S(3, 100), "size-mtime", Verdict.DIFFER),
        (S(3, 100), S(3, 100), "size-mtime", Verdict.MATCH),
        (S(3, 50), S(3, 100), "size-mtime", Verdict.MATCH),
        (S(3, 50), S(4, 100), "size-mtime", Verdict.DIFFER),
    ],
)
def test_verdict_table(source: Side | None, dest: Side | None, mode: str, expected: Verdict) -> None:
    assert verdict(source, dest, mode) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "dest", "mode", "expected"),
    [
        (S(3, 0), S(3, 0, "h"), "etag", True),
        (S(3, 0, "h"), S(3, 0, "h"), "etag", False),  # already known
        (S(3, 0), S(4, 0, "h"), "etag", False),  # sizes decide
        (S(3, 0), None, "etag", False),
        (None, S(3, 0), "etag", False),
        (S(3, 0), S(3, 0), "size", False),
        (S(3, 0), S(3, 0), "size-mtime", False),
    ],
)
def test_needs_etag(source: Side | None, dest: Side | None, mode: str, expected: bool) -> None:
    assert needs_etag(source, dest, mode) is expected  # type: ignore[arg-type]


def test_etag_mode_without_etag_raises() -> None:
    with pytest.raises(EtagRequired):
        verdict(S(3, 0), S(3, 0, "h"), "etag")


def test_unknown_mode_raises() -> None:
    with pytest.raises(ValueError, match="unknown compare mode"):
        verdict(S(3, 0), S(3, 0), "md5")  # type: ignore[arg-type]


def test_no_sides_raises() -> None:
    with pytest.raises(ValueError):
        verdict(None, None, "etag")
