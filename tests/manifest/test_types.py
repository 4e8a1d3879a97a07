"""Human sizes, durations, limits and storage classes: table tests of the pure parsers."""

from __future__ import annotations

import pytest

from kodo_jobs.manifest.types import (
    Percent,
    check_http_url,
    parse_duration,
    parse_limit,
    parse_size,
    parse_storage_class,
    resolve_limit,
)


@pytest.mark.parametrize(("text", "expected"), [
    (0, 0), (1234, 1234), ("1234", 1234), ("4MiB", 4 * 1024**2), ("4 MiB", 4 * 1024**2), ("10GB", 10 * 10**9),
    ("512KiB", 512 * 1024), ("1.5GiB", int(1.5 * 1024**3)), ("7b", 7), ("2kb", 2000), ("1TiB", 1024**4),
])
def test_sizes(text: object, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", [-1, "4XB", "MiB", "four", True, [1], None, "1e3", "-4MiB", 1.5])
def test_bad_sizes(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_size(bad)


@pytest.mark.parametrize(("text", "expected"), [
    (30, 30.0), (1.5, 1.5), ("30", 30.0), ("30s", 30.0), ("5m", 300.0), ("2h", 7200.0), ("30d", 30 * 86400.0),
    ("1h30m", 5400.0), ("250ms", 0.25), ("1w", 604800.0), ("0.5s", 0.5), ("1d12h", 129600.0),
])
def test_durations(text: object, expected: float) -> None:
    assert parse_duration(text) == pytest.approx(expected)


@pytest.mark.parametrize("bad", ["", "soon", "5 minutes", "1h 30m", "m5", "-3s", -1, False, {}, "1y", float("inf"), "nan", "inf"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(("text", "total", "expected"), [
    (50, 1000, 50), ("10%", 1000, 100), ("12.5%", 80, 10), ("0%", 5, 0), ("100%", 7, 7), ("25", 9, 25),
])
def test_limits(text: object, total: int, expected: int) -> None:
    assert resolve_limit(parse_limit(text), total) == expected


def test_limit_none_is_unlimited() -> None:
    assert resolve_limit(None, 10) is None
    assert str(Percent(10)) == "10%"


@pytest.mark.parametrize("bad", [-3, "-3", "101%", "ten", True, 1.5, "%"])
def test_bad_limits(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_limit(bad)


@pytest.mark.parametrize(("value", "expected"), [
    (0, 0), (4, 4), ("ia", 1), ("IA", 1), ("archive", 2), ("deep-archive", 3), ("archive_ir", 4), ("2", 2),
])
def test_storage_classes(value: object, expected: int) -> None:
    assert parse_storage_class(value) == expected


@pytest.mark.parametrize("bad", [5, -1, "glacier", True, None])
def test_bad_storage_classes(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_storage_class(bad)


@pytest.mark.parametrize("url", ["http://a.com/x", "https://cdn.example.com/", "HTTP://127.0.0.1:9400/p?q=1"])
def test_http_urls(url: str) -> None:
    assert check_http_url(url) == url


@pytest.mark.parametrize("url", ["a.com/x", "ftp://a.com/", "http://", "http:///path", "//a.com/"])
def test_bad_http_urls(url: str) -> None:
    with pytest.raises(ValueError):
        check_http_url(url)
