"""Download domains: the documented choice among a bucket's domains, once per bucket; no domain is
a run-fatal NoDomain; a single-endpoint client (the emulator) keeps its /dl/ route."""

from __future__ import annotations

from typing import Any

import pytest

from kodo_jobs.kodo import KodoClient, errors
from kodo_jobs.kodo.config import Credentials, Hosts
from kodo_jobs.kodo.domains import choose_domain, is_test_domain


def test_custom_domain_before_test_domains_in_uc_order() -> None:
    got = choose_domain(["photos-abc.bkt.clouddn.com", "*.example.com", "img.example.com", "cdn.example.org"], "https")
    assert got == "https://img.example.com"


def test_test_domain_is_used_over_http_when_it_is_the_only_one() -> None:
    assert choose_domain(["photos-abc.bkt.clouddn.com"], "https") == "http://photos-abc.bkt.clouddn.com"
    assert is_test_domain("x.qiniudn.com") and is_test_domain("http://x.qnssl.com/") and not is_test_domain("a.com")


def test_scheme_given_by_uc_is_kept_and_no_usable_domain_is_none() -> None:
    assert choose_domain(["https://dl.example.com/"], "http") == "https://dl.example.com"
    assert choose_domain(["img.example.com"], "http") == "http://img.example.com"
    assert choose_domain([], "https") is None
    assert choose_domain(["*.example.com", ".example.com", " "], "https") is None


def _client(monkeypatch: pytest.MonkeyPatch, domains: list[str]) -> tuple[KodoClient, list[str]]:
    client = KodoClient(Credentials("ak", "sk"), Hosts(uc=("http://127.0.0.1:9",), scheme="https"))
    asked: list[str] = []

    def fake(bucket: str) -> list[str]:
        asked.append(bucket)
        return domains

    monkeypatch.setattr(client.uc, "domains", fake)
    return client, asked


def test_download_base_asks_uc_once_per_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    client, asked = _client(monkeypatch, ["b.bkt.clouddn.com", "dl.example.com"])
    assert client.download_base("photos") == "https://dl.example.com"
    assert client.download_base("photos") == "https://dl.example.com"
    assert asked == ["photos"]


def test_bucket_without_domain_is_no_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = _client(monkeypatch, [])
    with pytest.raises(errors.NoDomain, match="bucket 'photos' has no domain bound.*download.base_url"):
        client.download_base("photos")
    assert issubclass(errors.NoDomain, errors.RunFatalError)


def test_single_endpoint_keeps_the_emulator_route(monkeypatch: pytest.MonkeyPatch) -> None:
    client = KodoClient.for_endpoint("http://127.0.0.1:9400", "ak", "sk")

    def never(bucket: str) -> Any:
        raise AssertionError("an endpoint client does not ask uc for domains")

    monkeypatch.setattr(client.uc, "domains", never)
    assert client.download_base("photos") == "http://127.0.0.1:9400/dl/photos"
