"""Every non-upload operation against the real emulator, with the request sequence recorded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from kodo_jobs.emulator import services as emulator_services
from kodo_jobs.emulator.store import object_info as emulator_object_info
from kodo_jobs.kodo import KodoClient, errors, ops
from kodo_jobs.kodo.auth import encoded_entry
from kodo_jobs.kodo.config import Credentials, Hosts
from kodo_jobs.kodo.etag import etag_bytes

from .conftest import Recorder, make_client

B = "test-bucket"


class _Source(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        data = self.files.get(self.path.lstrip("/"))
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def source() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A loopback HTTP origin serving ``files`` (fetch sources)."""
    files: dict[str, bytes] = {}
    handler = type("Handler", (_Source,), {"files": files})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", files
    server.shutdown()
    server.server_close()


def _put(client: KodoClient, source: tuple[str, dict[str, bytes]], key: str, data: bytes,
         bucket: str = B) -> None:
    base, files = source
    files[key] = data
    client.fetch.fetch(f"{base}/{key}", bucket, key)


def test_fetch_and_stat(kodo: tuple[KodoClient, Recorder], source: tuple[str, dict[str, bytes]]) -> None:
    client, rec = kodo
    base, files = source
    files["a.txt"] = b"hello"
    got = client.fetch.fetch(f"{base}/a.txt", B, "a.txt")
    assert (got.key, got.hash, got.fsize) == ("a.txt", etag_bytes(b"hello"), 5)
    st = client.rs.stat(B, "a.txt")
    assert (st.fsize, st.hash, st.status) == (5, "Fqr0xh3cxeii2r7eDztILNmuqUNN", 0)
    assert st.put_time.tzinfo is UTC and abs((datetime.now(UTC) - st.put_time).total_seconds()) < 600
    assert st.put_time_100ns // 10_000_000 == int(st.put_time.timestamp())
    src = f"{encoded_entry(B, 'a.txt')}"
    assert rec.paths() == [f"POST /fetch/{client_b64(f'{base}/a.txt')}/to/{src}", f"POST /stat/{src}"]
    with pytest.raises(errors.BadRequest):
        client.fetch.fetch(f"{base}/missing", B, "m")
    with pytest.raises(errors.NotFound):
        client.rs.stat(B, "missing")


def client_b64(text: str) -> str:
    from kodo_jobs.kodo.auth import urlsafe_b64
    return urlsafe_b64(text)


def test_rs_operations_in_order(kodo: tuple[KodoClient, Recorder], source: tuple[str, dict[str, bytes]],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulator_object_info, "RESTORE_SECONDS", 3600.0)  # the restore stays in progress: status 1
    client, rec = kodo
    _put(client, source, "k1", b"one")
    _put(client, source, "k9", b"nine")
    rec.clear()
    client.rs.copy(B, "k1", B, "k2")
    with pytest.raises(errors.AlreadyExists):
        client.rs.copy(B, "k1", B, "k2")
    client.rs.copy(B, "k1", B, "k2", force=True)
    client.rs.move(B, "k2", "other-bucket", "k3")
    client.rs.rename(B, "k1", "k4")
    client.rs.chgm(B, "k4", "text/plain", metadata={"color": "blue"})
    st = client.rs.stat(B, "k4")
    assert st.mime_type == "text/plain"
    assert "blue" in st.metadata.values()
    client.rs.chtype(B, "k4", 1)
    assert client.rs.stat(B, "k4").type == 1
    client.rs.delete_after_days(B, "k4", 3)
    assert client.rs.stat(B, "k4").expiration is not None
    client.rs.chstatus(B, "k4", 1)
    assert client.rs.stat(B, "k4").status == 1
    client.rs.chstatus(B, "k4", 0)
    client.rs.chtype(B, "k9", 2)
    client.rs.restore_ar(B, "k9", 1)
    assert client.rs.stat(B, "k9").restore_status == 1
    client.rs.lifecycle(B, "k4", to_ia_after_days=10, delete_after_days=30)
    client.rs.delete(B, "k4")
    assert not client.rs.exists(B, "k4")
    assert client.rs.exists("other-bucket", "k3")
    with pytest.raises(errors.NotFound):
        client.rs.delete(B, "k4")
    commands = [p.split("/")[1] for p in rec.paths()]
    assert commands == ["copy", "copy", "copy", "move", "move", "chgm", "stat", "chtype", "stat",
                        "deleteAfterDays", "stat", "chstatus", "stat", "chstatus", "chtype", "restoreAr", "stat",
                        "lifecycle", "delete", "stat", "stat", "delete"]
    e4 = encoded_entry(B, "k4")
    assert f"POST /lifecycle/{e4}/toIAAfterDays/10/toArchiveIRAfterDays/0/toArchiveAfterDays/0/" \
           f"toDeepArchiveAfterDays/0/deleteAfterDays/30" in rec.paths()


def test_batch_partial_success_298(kodo: tuple[KodoClient, Recorder],
                                   source: tuple[str, dict[str, bytes]]) -> None:
    client, rec = kodo
    _put(client, source, "b1", b"x")
    rec.clear()
    results = client.rs.batch([ops.stat(B, "b1"), ops.stat(B, "nope"), ops.copy(B, "b1", B, "b2"),
                               ops.delete(B, "nope"), ops.chgm(B, "b1", "text/x")])
    assert [r.code for r in results] == [200, 612, 200, 612, 200]
    assert results[0].stat is not None and results[0].stat.hash == etag_bytes(b"x")
    assert isinstance(results[1].exception, errors.NotFound) and results[1].message
    assert results[2].ok and results[2].exception is None
    assert rec.paths() == ["POST /batch"]
    assert client.rs.batch([]) == []
    with pytest.raises(ValueError):
        client.rs.batch([ops.stat(B, "x")] * 1001)


def test_batch_of_1000(kodo: tuple[KodoClient, Recorder]) -> None:
    client, _ = kodo
    results = client.rs.batch([ops.stat(B, f"none/{i}") for i in range(1000)])
    assert len(results) == 1000 and all(r.code == 612 for r in results)


def test_list_pages_on_marker(kodo: tuple[KodoClient, Recorder], source: tuple[str, dict[str, bytes]]) -> None:
    client, rec = kodo
    keys = ["a/1", "a/2", "a/b/3", "c", "d/4"]
    for k in keys:
        _put(client, source, k, k.encode())
    rec.clear()
    entries = list(client.rsf.list(B, page_size=2))
    assert [e.key for e in entries] == keys
    assert entries[0].hash == etag_bytes(b"a/1") and entries[0].fsize == 3
    assert entries[0].put_time.tzinfo is UTC
    assert len(rec.paths("/list")) == 3
    assert [e.key for e in client.rsf.list(B, prefix="a/")] == ["a/1", "a/2", "a/b/3"]
    assert [e.key for e in client.rsf.list(B, limit=4, page_size=3)] == keys[:4]
    assert list(client.rsf.common_prefixes(B, delimiter="/")) == ["a/", "d/"]
    page = client.rsf.page(B, prefix="a/", delimiter="/")
    assert [e.key for e in page.entries] == ["a/1", "a/2"] and page.common_prefixes == ("a/b/",)
    assert list(client.rsf.list(B, prefix="zzz")) == []


def test_prefetch_needs_mirror(kodo: tuple[KodoClient, Recorder], emulator: Any,
                               source: tuple[str, dict[str, bytes]]) -> None:
    client, rec = kodo
    with pytest.raises(errors.NotFound):
        client.fetch.prefetch(B, "m1")
    base, files = source
    files["m1"] = b"mirror"
    requests.post(f"{emulator.url}/_emulator/mirror", json={"bucket": B, "source": base + "/"}, timeout=5)
    client.fetch.prefetch(B, "m1")
    assert client.rs.stat(B, "m1").hash == etag_bytes(b"mirror")


def test_async_fetch(kodo: tuple[KodoClient, Recorder], source: tuple[str, dict[str, bytes]]) -> None:
    from kodo_jobs.kodo import AsyncFetchRequest
    client, rec = kodo
    base, files = source
    files["af"] = b"async"
    task = client.fetch.async_fetch(AsyncFetchRequest(urls=(f"{base}/af",), bucket=B, key="af"))
    assert task.id
    status = client.fetch.async_fetch_status(task.id)
    assert status.id == task.id
    assert rec.paths("/sisyphus") == ["POST /sisyphus/fetch", "GET /sisyphus/fetch"]


def test_pfop_and_status(kodo: tuple[KodoClient, Recorder], source: tuple[str, dict[str, bytes]],
                         emulator: Any) -> None:
    client, rec = kodo
    emulator.state.services[emulator_services.STATE_KEY].fops.step_seconds = 3600.0  # the job stays queued
    _put(client, source, "v.mp4", b"video")
    rec.clear()
    pid = client.fop.pfop(B, "v.mp4", ["avinfo"], pipeline="p1", notify_url=None, force=True)
    status = client.fop.status(pid)
    assert status.id == pid and status.code == 1  # waiting
    assert status.input_key == "v.mp4"
    assert rec.paths() == ["POST /pfop", "GET /status/get/prefop"]
    with pytest.raises(ValueError):
        client.fop.pfop(B, "v.mp4", [])


def test_cdn_calls(kodo: tuple[KodoClient, Recorder]) -> None:
    client, rec = kodo
    r = client.cdn.refresh(urls=["http://cdn.example.com/a"], dirs=["http://cdn.example.com/d/"])
    assert r.url_quota_day >= r.url_surplus_day >= 0 and r.request_id
    p = client.cdn.prefetch(["http://cdn.example.com/a"])
    assert p.quota_day >= p.surplus_day >= 0
    page = client.cdn.refresh_list(request_id=r.request_id)
    assert page.total >= 0
    client.cdn.prefetch_list(request_id=p.request_id)
    flux = client.cdn.flux(["cdn.example.com"], "2024-01-01", "2024-01-02", "day")
    assert isinstance(flux.time, tuple)
    client.cdn.bandwidth(["cdn.example.com"], "2024-01-01", "2024-01-02", "day")
    client.cdn.log_list(["cdn.example.com"], "2024-01-01")
    assert rec.paths() == ["POST /v2/tune/refresh", "POST /v2/tune/prefetch", "POST /v2/tune/refresh/list",
                           "POST /v2/tune/prefetch/list", "POST /v2/tune/flux", "POST /v2/tune/bandwidth",
                           "POST /v2/tune/log/list"]
    with pytest.raises(errors.BadRequest):
        client.cdn.refresh(urls=["not a url"])


def test_uc_calls_and_region_discovery(emulator: Any) -> None:
    client, rec = make_client(emulator.url)
    assert "test-bucket" in client.uc.buckets()
    assert isinstance(client.uc.domains(B), list)
    regions = client.uc.query_region(B)
    assert regions[0].hosts("rs") and regions[0].ttl > 0
    client.close()
    found = KodoClient.discover("test-ak", "test-sk", uc=emulator.url)
    rec2 = Recorder()
    found.http.session.hooks["response"].append(rec2)
    for _ in range(3):
        assert not found.rs.exists(B, "nothing")
    assert rec2.paths() == ["GET /v4/query"] + ["POST /stat/" + encoded_entry(B, "nothing")] * 3
    found.close()


def test_bad_credentials_and_bucket(emulator: Any) -> None:
    bad = KodoClient.for_endpoint(emulator.url, "test-ak", "wrong-sk")
    with pytest.raises(errors.Unauthorized) as info:
        bad.rs.stat(B, "k")
    assert isinstance(info.value, errors.RunFatalError) and info.value.status == 401
    client, _ = make_client(emulator.url)
    with pytest.raises(errors.NoSuchBucket):
        client.rs.stat("no-such-bucket", "k")


def test_failover_to_backup_host(emulator: Any) -> None:
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    hosts = Hosts(rs=(dead, emulator.url), query_region=False, scheme="http")
    client = KodoClient(Credentials("test-ak", "test-sk"), hosts)
    assert not client.rs.exists(B, "x")
    only_dead = KodoClient(Credentials("test-ak", "test-sk"), Hosts(rs=(dead,), query_region=False))
    with pytest.raises(errors.TransportError):
        only_dead.rs.stat(B, "x")


def test_for_region_targets_real_hosts_and_is_refused() -> None:
    from tests.conftest import NonLoopbackConnection
    client = KodoClient.for_region("z0", "ak", "sk")
    assert client.resolver.candidates("rs", B) == ("https://rs-z0.qiniuapi.com",)
    assert client.resolver.candidates("up", B)[0] == "https://upload.qiniup.com"
    rec = Recorder()
    client.http.session.hooks["response"].append(rec)
    with pytest.raises(NonLoopbackConnection):
        client.rs.stat(B, "k")
    assert rec.calls == []
