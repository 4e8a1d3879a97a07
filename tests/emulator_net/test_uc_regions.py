"""Buckets have a region and domains; uc answers region queries and the bucket-domains call
with Kodo's real host names when the emulator plays Kodo's internet, and with its base URL
otherwise (the answers existing clients rely on)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from kodo_jobs.emulator.config import EmulatorConfig, parse_bucket, parse_domain
from kodo_jobs.emulator.regions import REGIONS, UC_HOSTS, kodo_host
from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.emulator.verify import sign
from tests.fixtures.emulator import ACCESS_KEY, SECRET_KEY

BUCKETS = ("south@z2", "east", "secret:private@cn-east-2", "fast:accelerate@z1")
DOMAINS = ("south=img.south.example", "south=cdn.south.example", "secret=dl.secret.example")


def _qbox(path: str) -> dict[str, str]:
    """A QBox management signature over ``path`` with no body (what uc accepts)."""
    return {"Authorization": f"QBox {ACCESS_KEY}:{sign(SECRET_KEY, (path + chr(10)).encode())}"}


@pytest.fixture
def kodo_net(emulator_factory: Callable[..., RunningEmulator]) -> RunningEmulator:
    return emulator_factory(buckets=BUCKETS, domains=DOMAINS, proxy_port=0)


def _query(emu: RunningEmulator, bucket: str, host: str | None, version: str = "v4") -> requests.Response:
    headers = {"Host": host} if host else {}
    return requests.get(f"{emu.url}/{version}/query", params={"ak": ACCESS_KEY, "bucket": bucket},
                        headers=headers, timeout=30)


@pytest.mark.parametrize("bucket,region", [("south", "z2"), ("east", "z0"), ("secret", "cn-east-2"), ("fast", "z1")])
def test_v4_query_names_the_buckets_region_with_real_hosts(kodo_net: RunningEmulator, bucket: str,
                                                           region: str) -> None:
    resp = _query(kodo_net, bucket, "uc.qiniuapi.com")
    assert resp.status_code == 200, resp.text
    (entry,) = resp.json()["hosts"]
    expected = REGIONS[region]
    assert entry["region"] == region and entry["ttl"] == 86400
    assert entry["up"]["domains"] == list(expected.up)
    assert entry["up"]["acc_domains"] == [f"{bucket}.kodo-accelerate.{expected.s3_alias}.qiniucs.com"]
    assert entry["rs"]["domains"] == [f"rs-{region}.qiniuapi.com"]
    assert entry["rsf"]["domains"] == [f"rsf-{region}.qiniuapi.com"]
    assert entry["api"]["domains"] == [f"api-{region}.qiniuapi.com"]
    assert entry["io"]["domains"][0] == ("iovip.qiniuio.com" if region == "z0" else f"iovip-{region}.qiniuio.com")
    assert entry["uc"]["domains"] == list(UC_HOSTS)
    assert entry["s3"]["region_alias"] == expected.s3_alias
    every = [h for svc in ("up", "io", "rs", "rsf", "api", "uc") for h in entry[svc]["domains"]]
    assert all(kodo_host(h) is not None and "://" not in h and ":" not in h for h in every)


def test_the_sdk_reads_the_answer_as_the_buckets_region(kodo_net: RunningEmulator) -> None:
    from qiniu.http.region import ServiceName
    from qiniu.http.regions_provider import _get_region_from_query

    (entry,) = _query(kodo_net, "south", "uc.qbox.me").json()["hosts"]
    region = _get_region_from_query(entry)
    assert region.region_id == "z2"
    assert [e.host for e in region.services[ServiceName.UP]] == ["upload-z2.qiniup.com", "up-z2.qiniup.com"]
    assert [e.host for e in region.services[ServiceName.RS]] == ["rs-z2.qiniuapi.com"]


def test_unknown_bucket_is_631_on_kodos_internet(kodo_net: RunningEmulator) -> None:
    resp = _query(kodo_net, "nobody", "uc.qiniuapi.com")
    assert resp.status_code == 631 and resp.json()["error"] == "no such bucket"


def test_v2_query_has_the_older_shape(kodo_net: RunningEmulator) -> None:
    doc = _query(kodo_net, "south", "kodo-config.qiniuapi.com", "v2").json()
    assert doc["region"] == "z2"
    assert doc["up"]["src"]["main"] == ["upload-z2.qiniup.com", "up-z2.qiniup.com"]
    assert doc["rs"]["acc"]["main"] == ["rs-z2.qiniuapi.com"]


def test_base_url_clients_keep_the_base_url_even_in_proxy_mode(kodo_net: RunningEmulator) -> None:
    (entry,) = _query(kodo_net, "south", None).json()["hosts"]
    base = kodo_net.url.split("//", 1)[1]
    assert entry["up"]["domains"] == [base] and entry["rs"]["domains"] == [base]


def test_without_proxy_mode_real_host_headers_still_get_the_base(emulator_factory: Callable[..., RunningEmulator]) -> None:
    emu = emulator_factory(buckets=BUCKETS)
    (entry,) = _query(emu, "south", "uc.qiniuapi.com").json()["hosts"]
    assert entry["up"]["domains"] == ["uc.qiniuapi.com"]  # today's answer: the addressed host


def test_domains_call_answers_the_configured_domains(kodo_net: RunningEmulator) -> None:
    def domains(bucket: str, host: str | None) -> requests.Response:
        path = f"/v2/domains?tbl={bucket}"
        headers = {**_qbox(path), **({"Host": host} if host else {})}
        return requests.post(kodo_net.url + path, headers=headers, timeout=30)

    assert domains("south", "uc.qiniuapi.com").json() == ["img.south.example", "cdn.south.example"]
    assert domains("secret", None).json() == ["dl.secret.example"]
    assert domains("east", "uc.qiniuapi.com").json() == []  # no domain bound: none on Kodo's internet
    base = kodo_net.url.split("//", 1)[1]
    assert domains("east", None).json() == [base]  # base-URL clients: the emulator serves it
    assert domains("nobody", "uc.qiniuapi.com").status_code == 631


def test_bucket_info_and_v3_buckets_report_regions(kodo_net: RunningEmulator) -> None:
    path = "/v2/bucketInfo?bucket=secret"
    assert requests.post(kodo_net.url + path, headers=_qbox(path), timeout=30).json()["region"] == "cn-east-2"
    path = "/v3/buckets?region=z2"
    names = [b["name"] for b in requests.post(kodo_net.url + path, headers=_qbox(path), timeout=30).json()["buckets"]]
    assert names == ["south"]


def test_mkbucketv3_places_the_new_bucket_in_its_region(kodo_net: RunningEmulator) -> None:
    path = "/mkbucketv3/made-here/region/na0"
    assert requests.post(kodo_net.url + path, headers=_qbox(path), timeout=30).status_code == 200
    (entry,) = _query(kodo_net, "made-here", "uc.qiniuapi.com").json()["hosts"]
    assert entry["region"] == "na0"
    path = "/mkbucketv3/nowhere/region/zz9"
    assert requests.post(kodo_net.url + path, headers=_qbox(path), timeout=30).status_code == 400


def test_bucket_and_domain_specs() -> None:
    assert parse_bucket("bkt").region == "z0"
    spec = parse_bucket("bkt:private@z1")
    assert (spec.name, spec.private, spec.region) == ("bkt", True, "z1")
    assert parse_bucket("bkt:accelerate").accelerate
    for bad in ("bkt@zz9", "bkt@", "bkt:secret", "-bkt@z0"):
        with pytest.raises(ValueError):
            parse_bucket(bad)
    assert parse_domain("bkt=IMG.Example.com") == ("bkt", "img.example.com")
    for bad in ("bkt", "bkt=", "bkt=not a host", "bkt=up-z2.qiniup.com", "=x.example"):
        with pytest.raises(ValueError):
            parse_domain(bad)


def test_config_checks_domains_against_buckets(tmp_path: Path) -> None:
    def config(**kw: object) -> EmulatorConfig:
        return EmulatorConfig(data_dir=tmp_path, access_key="ak", secret_key="sk", **kw)  # type: ignore[arg-type]

    assert config(buckets=("akt", "bkt"), domains=("akt=x.example", "akt=y.example")).bucket_domains() == {
        "akt": ("x.example", "y.example")}
    with pytest.raises(ValueError, match="no bucket"):
        config(buckets=("akt",), domains=("bkt=x.example",))
    with pytest.raises(ValueError, match="two buckets"):
        config(buckets=("akt", "bkt"), domains=("akt=x.example", "bkt=x.example"))
    with pytest.raises(ValueError, match="two regions"):
        config(buckets=("akt@z1", "akt@z2"))
