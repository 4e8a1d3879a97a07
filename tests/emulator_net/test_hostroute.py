"""Routing by Host as Kodo routes, through the emulator's proxy (explicit ``proxies=``, so no
environment changes): uploads only on the bucket's region's up hosts, management only on its
service's hosts, objects only on bucket domains, and the X-Qiniu-Date window."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import qiniu
import requests
from qiniu.auth import QiniuMacRequestsAuth
from qiniu.services.cdn.manager import create_timestamp_anti_leech_url

from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator_services.helpers import put
from tests.fixtures.emulator import ACCESS_KEY, SECRET_KEY

BUCKETS = ("south@z2", "east", "vault:private@z1", "fast:accelerate@z2")
DOMAINS = ("south=img.south.example", "vault=dl.vault.example")
AUTH = qiniu.Auth(ACCESS_KEY, SECRET_KEY)
MAC = qiniu.QiniuMacAuth(ACCESS_KEY, SECRET_KEY)
MAC_OWN_DATE = qiniu.QiniuMacAuth(ACCESS_KEY, SECRET_KEY, disable_qiniu_timestamp_signature=True)
"""Signs whatever X-Qiniu-Date the test sets (the SDK's own date would replace it)."""


class Kodo:
    """A client of the emulator's proxy with explicit proxies and CA (this process's env untouched)."""

    def __init__(self, emu: RunningEmulator) -> None:
        assert emu.proxy_url
        self.emu = emu
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.proxies = {"http": emu.proxy_url, "https": emu.proxy_url}
        self.session.verify = str(emu.config.data_dir / "ca.pem")

    def form_upload(self, host: str, bucket: str, key: str, scheme: str = "https") -> requests.Response:
        token = AUTH.upload_token(bucket, key, 3600)
        return self.session.post(f"{scheme}://{host}/", data={"token": token, "key": key},
                                 files={"file": ("f", b"payload")}, timeout=30)

    def mgmt(self, method: str, url: str, mac: qiniu.QiniuMacAuth = MAC, **kw: Any) -> requests.Response:
        return self.session.request(method, url, auth=QiniuMacRequestsAuth(mac), timeout=30, **kw)


@pytest.fixture
def kodo(emulator_factory: Callable[..., RunningEmulator]) -> Kodo:
    return Kodo(emulator_factory(buckets=BUCKETS, domains=DOMAINS, proxy_port=0))


@pytest.mark.parametrize("host", ["up-z2.qiniup.com", "upload-z2.qiniup.com"])
def test_upload_on_the_buckets_region_is_stored(kodo: Kodo, host: str) -> None:
    resp = kodo.form_upload(host, "south", "k.txt")
    assert resp.status_code == 200, resp.text
    assert kodo.emu.store.exists("south", "k.txt")


@pytest.mark.parametrize("host,bucket,hint", [
    ("up.qiniup.com", "south", "up-z2.qiniup.com"),
    ("up-z1.qiniup.com", "east", "up-z0.qiniup.com"),
    ("upload-na0.qiniup.com", "vault", "up-z1.qiniup.com"),
])
def test_upload_on_another_regions_host_is_400_incorrect_region(kodo: Kodo, host: str, bucket: str,
                                                                 hint: str) -> None:
    resp = kodo.form_upload(host, bucket, "k.txt", scheme="http")
    assert resp.status_code == 400
    assert resp.json() == {"error": f"incorrect region, please use {hint}"}
    assert "X-Reqid" in resp.headers
    assert not kodo.emu.store.exists(bucket, "k.txt")


def test_resumable_v2_on_another_region_is_refused_before_anything_starts(kodo: Kodo) -> None:
    token = AUTH.upload_token("south", "big.bin", 3600)
    encoded = qiniu.urlsafe_base64_encode("big.bin")
    resp = kodo.session.post(f"https://up.qiniup.com/buckets/south/objects/{encoded}/uploads",
                             headers={"Authorization": f"UpToken {token}"}, timeout=30)
    assert resp.status_code == 400 and "up-z2.qiniup.com" in resp.json()["error"]


def test_acceleration_domain_uploads_only_for_accelerated_buckets(kodo: Kodo) -> None:
    ok = kodo.form_upload("fast.kodo-accelerate.cn-south-1.qiniucs.com", "fast", "a.txt")
    assert ok.status_code == 200, ok.text
    refused = kodo.form_upload("south.kodo-accelerate.cn-south-1.qiniucs.com", "south", "a.txt")
    assert refused.status_code == 400
    assert refused.json() == {"error": "transfer acceleration is not configured on this bucket"}


def test_management_only_on_its_services_hosts(kodo: Kodo) -> None:
    put(kodo.emu, "south", "k.txt", b"data")
    entry = qiniu.urlsafe_base64_encode("south:k.txt")
    assert kodo.mgmt("POST", f"https://rs-z2.qiniuapi.com/stat/{entry}").status_code == 200
    assert kodo.mgmt("POST", f"http://rs.qiniu.com/stat/{entry}").status_code == 200  # the legacy global host
    for wrong in ("https://up-z2.qiniup.com", "https://rsf-z2.qiniuapi.com", "https://uc.qiniuapi.com",
                  "http://iovip-z2.qiniuio.com"):
        resp = kodo.mgmt("POST", f"{wrong}/stat/{entry}")
        assert resp.status_code == 404, (wrong, resp.text)
        assert resp.json()["error"].startswith("no such API on")
    listed = kodo.mgmt("GET", "https://rsf-z2.qiniuapi.com/list?bucket=south")
    assert listed.status_code == 200 and [i["key"] for i in listed.json()["items"]] == ["k.txt"]


def test_objects_only_on_bucket_domains(kodo: Kodo) -> None:
    put(kodo.emu, "south", "dir/a b.txt", b"public bytes")
    resp = kodo.session.get("https://img.south.example/dir/a%20b.txt", timeout=30)
    assert resp.status_code == 200 and resp.content == b"public bytes"
    ranged = kodo.session.get("http://img.south.example/dir/a%20b.txt", headers={"Range": "bytes=0-5"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == b"public"
    assert kodo.session.get("https://img.south.example/missing", timeout=30).status_code == 404
    assert kodo.session.post("https://img.south.example/dir/a%20b.txt", timeout=30).status_code == 405
    # the emulator's own /dl/ route and admin routes do not exist on Kodo's hosts
    for url in ("https://iovip-z2.qiniuio.com/dl/south/dir/a%20b.txt", "http://up-z2.qiniup.com/_emulator/stats"):
        assert kodo.session.get(url, timeout=30).status_code == 404, url


def test_private_bucket_domain_needs_a_signed_url(kodo: Kodo) -> None:
    put(kodo.emu, "vault", "s.txt", b"secret")
    assert kodo.session.get("https://dl.vault.example/s.txt", timeout=30).status_code == 401
    for scheme in ("http", "https"):
        url = AUTH.private_download_url(f"{scheme}://dl.vault.example/s.txt", expires=3600)
        resp = kodo.session.get(url, timeout=30)
        assert resp.status_code == 200 and resp.content == b"secret", scheme
    # a URL signed for http is not valid over https (the scheme is part of what is signed)
    url = AUTH.private_download_url("http://dl.vault.example/s.txt", expires=3600)
    assert kodo.session.get(url.replace("http://", "https://", 1), timeout=30).status_code == 401


def test_anti_leech_is_honoured_on_bucket_domains(emulator_factory: Callable[..., RunningEmulator]) -> None:
    kodo = Kodo(emulator_factory(buckets=BUCKETS, domains=DOMAINS, proxy_port=0, anti_leech_key="leech-key"))
    put(kodo.emu, "south", "p.txt", b"leech")
    assert kodo.session.get("https://img.south.example/p.txt", timeout=30).status_code == 403
    url = create_timestamp_anti_leech_url("https://img.south.example", "p.txt", None, "leech-key",
                                          int(time.time()) + 3600)
    resp = kodo.session.get(url, timeout=30)
    assert resp.status_code == 200 and resp.content == b"leech"


def test_tunnel_requests_must_name_the_tunnels_host(kodo: Kodo) -> None:
    resp = kodo.session.get("https://uc.qiniuapi.com/v4/query?ak=x&bucket=south",
                            headers={"Host": "rs-z2.qiniuapi.com"}, timeout=30)
    assert resp.status_code == 403


@pytest.mark.parametrize("offset,status", [(-16 * 60, 401), (16 * 60, 401), (-14 * 60, 200), (14 * 60, 200)])
def test_x_qiniu_date_is_checked_within_15_minutes(kodo: Kodo, offset: int, status: int) -> None:
    put(kodo.emu, "south", "k.txt", b"data")
    entry = qiniu.urlsafe_base64_encode("south:k.txt")
    date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() + offset))
    resp = kodo.mgmt("POST", f"https://rs-z2.qiniuapi.com/stat/{entry}", mac=MAC_OWN_DATE,
                     headers={"X-Qiniu-Date": date})
    assert resp.status_code == status, resp.text
    if status == 401:
        assert "X-Qiniu-Date" in resp.json()["error"]


def test_x_qiniu_date_is_checked_on_the_base_url_too(emulator: RunningEmulator) -> None:
    entry = qiniu.urlsafe_base64_encode("test-bucket:none")
    session = requests.Session()
    session.trust_env = False
    skewed = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 3600))
    resp = session.post(f"{emulator.url}/stat/{entry}", headers={"X-Qiniu-Date": skewed},
                        auth=QiniuMacRequestsAuth(MAC_OWN_DATE), timeout=30)
    assert resp.status_code == 401
    bad = session.post(f"{emulator.url}/stat/{entry}", headers={"X-Qiniu-Date": "yesterday"},
                       auth=QiniuMacRequestsAuth(MAC_OWN_DATE), timeout=30)
    assert bad.status_code == 401 and "malformed" in bad.json()["error"]


def test_base_url_routes_stay_as_they_were(kodo: Kodo) -> None:
    put(kodo.emu, "south", "k.txt", b"data")
    session = requests.Session()
    session.trust_env = False
    assert session.get(f"{kodo.emu.url}/dl/south/k.txt", timeout=30).content == b"data"
    stats = session.get(f"{kodo.emu.url}/_emulator/stats", timeout=30).json()
    assert {"requests", "bytes_received", "faults_injected", "objects", "hosts", "channels"} <= set(stats)
    assert stats["channels"]["direct"] >= 1


def test_many_open_tunnels_do_not_starve_the_proxy(kodo: Kodo) -> None:
    """Clients keep tunnels open (a request done, the connection kept alive); each holds a proxy
    thread, so the pool must grow past its start size (a fixed pool would leave the next
    CONNECT unanswered)."""
    import socket
    import ssl

    from kodo_jobs.emulator.proxy import PROXY_THREADS

    assert kodo.emu.proxy_url
    host, port = kodo.emu.proxy_url.removeprefix("http://").split(":")
    tls = ssl.create_default_context(cafile=str(kodo.emu.config.data_dir / "ca.pem"))
    held: list[socket.socket] = []
    try:
        for _ in range(PROXY_THREADS * 3):
            sock = socket.create_connection((host, int(port)), timeout=30)
            held.append(sock)
            sock.sendall(b"CONNECT uc.qiniuapi.com:443 HTTP/1.1\r\nHost: uc.qiniuapi.com:443\r\n\r\n")
            assert sock.recv(1024).startswith(b"HTTP/1.1 200"), len(held)
            wrapped = tls.wrap_socket(sock, server_hostname="uc.qiniuapi.com")
            held[-1] = wrapped
            assert _query_over(wrapped).startswith(b"HTTP/1.1 200"), len(held)  # then idle, kept alive
        resp = kodo.session.get("https://uc.qiniuapi.com/v4/query?ak=x&bucket=south", timeout=30)
        assert resp.status_code == 200
        last = held[-1]  # still alive: a second request on the last tunnel is answered
        assert _query_over(last).startswith(b"HTTP/1.1 200")
    finally:
        for sock in held:
            sock.close()


def _query_over(sock: Any) -> bytes:
    """One keep-alive uc query on a raw TLS socket; returns the status line (body read fully)."""
    sock.sendall(b"GET /v4/query?ak=x&bucket=south HTTP/1.1\r\nHost: uc.qiniuapi.com\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head.split(b"\r\n", 1)[0]
