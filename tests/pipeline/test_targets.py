"""Manifest target -> client hosts; the embedded target serves from .kodo-jobs beside the manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kodo_jobs.cli import cli
from kodo_jobs.errors import UsageError
from kodo_jobs.log import redact_text
from kodo_jobs.manifest.target import Target
from kodo_jobs.pipeline.targets import EMBEDDED_DIR, hosts_for, open_target


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


def test_proxy_and_ca_bundle_reach_the_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ca.pem").write_text("not checked here\n")
    target = Target(endpoint="http://127.0.0.1:9", access_key="ak", secret_key="sk",
                    proxy="http://bob:pr0xy-pa55@127.0.0.1:3128", ca_bundle="ca.pem")
    with open_target(target, tmp_path) as client:
        assert client.http.network.proxy == "http://bob:pr0xy-pa55@127.0.0.1:3128"
        assert client.http.network.ca_bundle == str((tmp_path / "ca.pem").resolve())
        assert client.http.verify() == str((tmp_path / "ca.pem").resolve())
        assert client.http.proxies_for("http://127.0.0.1:9/x") == {"http": "http://bob:pr0xy-pa55@127.0.0.1:3128"}
    # registered with the redactor: the bare password is masked even outside a URL
    assert "pr0xy-pa55" not in redact_text("password pr0xy-pa55 was used")


def test_environment_proxy_credentials_are_registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://carol:env-s3cret-pw@127.0.0.1:3128")
    with open_target(Target(endpoint="http://127.0.0.1:9", access_key="ak", secret_key="sk"), tmp_path):
        pass
    assert "env-s3cret-pw" not in redact_text("saw env-s3cret-pw")


def test_missing_ca_bundle_is_a_usage_error(tmp_path: Path) -> None:
    target = Target(endpoint="http://127.0.0.1:9", access_key="ak", secret_key="sk", ca_bundle="nope.pem")
    with pytest.raises(UsageError, match="target.ca_bundle"), open_target(target, tmp_path):
        pass


def test_bad_proxy_url_is_invalid_input_without_echoing_credentials(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "version: 1\ntarget: {endpoint: 'http://127.0.0.1:9', access_key: ak, secret_key: sk,"
        " proxy: 'socks9://dan:leak-me-pw@127.0.0.1:1080'}\n"
        "jobs:\n  - {name: up, kind: sync, source: ./src, bucket: b}\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", str(tmp_path / "m.yaml")])
    assert res.exit_code == 2 and "proxy" in res.output
    assert "leak-me-pw" not in res.output


def test_embedded_target_is_direct() -> None:
    from kodo_jobs.kodo.network import Network

    assert Network(direct=True).proxies_for("http://127.0.0.1:1/") == {}
