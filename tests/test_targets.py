"""Manifest target -> client hosts; the embedded target serves from .kodo-jobs beside the manifest."""

from __future__ import annotations

from pathlib import Path

from kodo_jobs.manifest.target import Target
from kodo_jobs.targets import EMBEDDED_DIR, hosts_for, open_target


def test_endpoint_sends_every_service_to_one_url() -> None:
    h = hosts_for(Target(endpoint="http://127.0.0.1:9400/", access_key="ak", secret_key="sk"))
    assert h.up == h.rs == h.rsf == h.io == h.api == ("http://127.0.0.1:9400",)
    assert not h.query_region


def test_region_and_upload_override() -> None:
    h = hosts_for(Target(region="z2", access_key="ak", secret_key="sk", upload_host="https://acc.example.com"))
    assert h.rs == ("https://rs-z2.qiniuapi.com",) and h.up_override == ("https://acc.example.com",)


def test_explicit_hosts() -> None:
    h = hosts_for(Target(hosts={"up": "http://up.local", "io": "http://io.local", "rs": "http://rs.local",
                                "rsf": "http://rsf.local", "api": "http://api.local"},
                         access_key="ak", secret_key="sk"))
    assert (h.up, h.rsf, h.scheme) == (("http://up.local",), ("http://rsf.local",), "http")


def test_embedded_creates_buckets_on_first_use(tmp_path: Path) -> None:
    with open_target(Target(embedded=True), tmp_path) as client:
        client.upload.upload_bytes("fresh-bucket", "a.txt", b"hello")
        assert client.rs.stat("fresh-bucket", "a.txt").fsize == 5
        assert list(client.rsf.list("another-bucket")) == []
    assert (tmp_path / EMBEDDED_DIR).is_dir()


def test_no_place_named_means_region_auto() -> None:
    for target in (Target(access_key="ak", secret_key="sk"), Target(region="auto", access_key="ak", secret_key="sk")):
        h = hosts_for(target)
        assert h.query_region and h.up == h.rs == h.io == h.api == ()
        assert h.uc == ("https://uc.qiniuapi.com", "https://kodo-config.qiniuapi.com", "https://uc.qbox.me")


def test_fixed_region_keeps_its_id_for_messages() -> None:
    h = hosts_for(Target(region="z1", access_key="ak", secret_key="sk", accelerate_uploading=True))
    assert (h.region, h.accelerate, h.query_region) == ("z1", True, False)


def test_hosts_with_only_uc_ask_it_for_the_rest() -> None:
    h = hosts_for(Target(hosts={"uc": "http://127.0.0.1:9400"}, access_key="ak", secret_key="sk"))
    assert h.uc == ("http://127.0.0.1:9400",) and h.query_region and h.up == () and h.scheme == "http"
