"""select: filters over listing entries, tested as tables (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from kodo_jobs.jobs.select import SelectFilter, from_spec, parse_duration, storage_class

NOW_NS = 1_700_000_000 * 10**9
DAY_NS = 86400 * 10**9


@dataclass(frozen=True)
class Entry:
    key: str
    fsize: int = 10
    mime_type: str = "text/plain"
    put_time_100ns: int = NOW_NS // 100  # 100-ns units like Kodo
    type: int = 0


def aged(key: str, days: float, **kw: object) -> Entry:
    return Entry(key, put_time_100ns=int((NOW_NS - days * DAY_NS) // 100), **kw)  # type: ignore[arg-type]


ENTRIES = [
    aged("logs/a.log", 40, fsize=100),
    aged("logs/b.log", 10, fsize=2000),
    aged("logs/c.txt", 1, fsize=0, mime_type="text/plain"),
    aged("img/x.jpg", 100, mime_type="image/jpeg", type=1),
    aged("img/y.png", 5, mime_type="image/png", type=2),
    aged("video/deep/z.mp4", 3, fsize=5 * 1024 * 1024, mime_type="video/mp4"),
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, [e.key for e in ENTRIES]),
        ({"prefix": "logs/"}, ["logs/a.log", "logs/b.log", "logs/c.txt"]),
        ({"prefix": "logs/", "suffix": ".log"}, ["logs/a.log", "logs/b.log"]),
        ({"suffix": [".jpg", ".png"]}, ["img/x.jpg", "img/y.png"]),
        ({"glob": "*.mp4"}, []),  # "*" stays within one segment
        ({"glob": "**/*.mp4"}, ["video/deep/z.mp4"]),
        ({"glob": "video/**/z.mp4"}, ["video/deep/z.mp4"]),
        ({"glob": "img/[xz].*"}, ["img/x.jpg"]),
        ({"glob": "img/[!x].*"}, ["img/y.png"]),
        ({"storage_type": 2}, ["img/y.png"]),
        ({"older_than": 30 * 86400.0}, ["logs/a.log", "img/x.jpg"]),
        ({"glob": ["img/*.png", "logs/?.txt"]}, ["logs/c.txt", "img/y.png"]),
        ({"older_than": "30d"}, ["logs/a.log", "img/x.jpg"]),
        ({"newer_than": "7d"}, ["logs/c.txt", "img/y.png", "video/deep/z.mp4"]),
        ({"older_than": "4d", "newer_than": "20d"}, ["logs/b.log", "img/y.png"]),
        ({"min_size": 100, "max_size": 2000}, ["logs/a.log", "logs/b.log"]),
        ({"min_size": "1MiB"}, ["video/deep/z.mp4"]),
        ({"max_size": 0}, ["logs/c.txt"]),
        ({"storage": "ia"}, ["img/x.jpg"]),
        ({"storage": ["archive", 1]}, ["img/x.jpg", "img/y.png"]),
        ({"mime": "image/*"}, ["img/x.jpg", "img/y.png"]),
        ({"mime": ["video/mp4", "text/*"], "prefix": "video/"}, ["video/deep/z.mp4"]),
    ],
)
def test_select_table(spec: dict[str, object], expected: list[str]) -> None:
    flt = from_spec(spec, now_ns=NOW_NS)
    assert [e.key for e in flt.apply(ENTRIES)] == expected


def test_age_boundary_is_inclusive_for_older_than() -> None:
    flt = SelectFilter(older_than=timedelta(days=40), now_ns=NOW_NS)
    assert flt.matches(aged("k", 40))
    assert not flt.matches(aged("k", 39.999))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("45s", 45), ("2w", 14 * 86400), ("15", 15), (7, 7),
     ("1h30m", 5400)],
)
def test_parse_duration(text: object, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize(("bad", "message"), [
    ("", "must be a duration such as 30s, 5m, 2h, 30d or 1h30m (got '')"),
    ("3 days", "must be a duration such as 30s, 5m, 2h, 30d or 1h30m (got '3 days')"),
    ("d30", "must be a duration such as 30s, 5m, 2h, 30d or 1h30m (got 'd30')"),
    ("-1d", "must be >= 0 (got '-1d')"),
])
def test_parse_duration_rejects_with_the_manifest_message(bad: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(bad)
    assert str(info.value) == message


def test_storage_class_names_and_errors() -> None:
    assert [storage_class(v) for v in ("standard", "IA", "archive", "deep_archive", "archive_ir", "3", 4)] == [
        0, 1, 2, 3, 4, 3, 4,
    ]
    with pytest.raises(ValueError, match="unknown storage class"):
        storage_class("cold")


@pytest.mark.parametrize(("text", "size"), [("10KiB", 10240), ("10KB", 10000), ("2MB", 2_000_000), (5, 5)])
def test_sizes(text: object, size: int) -> None:
    assert from_spec({"min_size": text}).min_size == size


def test_size_units_are_the_manifests() -> None:
    """One size parser: "10K" is refused here exactly as in a manifest (K alone is ambiguous)."""
    with pytest.raises(ValueError) as info:
        from_spec({"min_size": "10K"})
    assert str(info.value) == "unknown size unit 'K' in '10K' (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"


@pytest.mark.parametrize(
    ("pattern", "key", "ok"),
    [
        ("a/**/b", "a/b", True), ("a/**/b", "a/x/y/b", True), ("a/*", "a/x/y", False), ("a/**", "a/x/y", True),
        ("?.txt", "a.txt", True), ("?.txt", "/.txt", False), ("a+b(c).txt", "a+b(c).txt", True), ("x[", "x[", True),
    ],
)
def test_glob_regex(pattern: str, key: str, ok: bool) -> None:
    from kodo_jobs.jobs.select import glob_regex

    assert bool(glob_regex(pattern).fullmatch(key)) is ok
