"""kodo-jobs behind a forward proxy: with ``HTTP_PROXY`` set, every request of a run reaches the
emulator through the proxy; with ``NO_PROXY`` covering the host, none does.

The emulator listens on 127.0.0.1. ``requests`` (and curl) on Linux do not exempt loopback
addresses from a proxy: without ``NO_PROXY`` a request to 127.0.0.1 goes through
``HTTP_PROXY`` like any other, which is what makes this proof possible on loopback. The count
that proves "every request" is the emulator's own request counter: it must grow by exactly the
number of requests the proxy logged, and every logged request names the emulator in absolute
form. The CLI runs in-process (the environment is monkeypatched for the run only).

Also here: an upload answered 401 before its 4 MiB body was read stops the run as unauthorized
after that one request (run-fatal, exit 1), rather than a retried broken pipe.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.kodo.client import KodoClient
from tests.e2e.sync_helpers import AK, BUCKET, SK, cli, make_tree, serve, sync_job, write_manifest
from tests.fixtures.forward_proxy import ForwardProxy
from tests.kodo.loopback import LoopbackServer

PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
             "no_proxy")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[RunningEmulator]:
    with serve(tmp_path / "emulator-data") as running:
        yield running


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    running = ForwardProxy()
    yield running
    running.close()


def _served(emu: RunningEmulator) -> int:
    return int(emu.stats()["requests_total"])


def _manifest(tmp_path: Path, emu: RunningEmulator) -> Path:
    make_tree(tmp_path / "src", {"a.txt": "alpha", "dir/b.txt": "beta", "big.bin": b"z" * (5 * 1024 * 1024)})
    with KodoClient.for_endpoint(emu.url, AK, SK) as client:
        client.upload.upload_bytes(BUCKET, "remote/r.txt", b"remote object")
    return write_manifest(
        tmp_path, emu.url,
        sync_job("./src", name="up", prefix="up/"),
        sync_job("./down", name="down", direction="download", prefix="remote/"),
        {"name": "inventory", "kind": "batch", "bucket": BUCKET, "keys": ["remote/r.txt"], "op": {"stat": {}},
         "needs": ["up"]},
    )


def test_every_request_goes_through_http_proxy(tmp_path: Path, emu: RunningEmulator, proxy: ForwardProxy,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = _manifest(tmp_path, emu)
    before = _served(emu)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    planned = cli("plan", manifest)
    assert planned.code == 0, planned.out + planned.err
    after_plan = len(proxy.log.entries)
    assert after_plan > 0
    done = cli("run", manifest, "--report", tmp_path / "report.json")
    assert done.code == 0, done.out + done.err
    monkeypatch.delenv("HTTP_PROXY")
    served = _served(emu) - before
    targets = proxy.log.targets()
    assert len(targets) == served, (served, targets)
    assert all(t.split(" ", 1)[1].startswith(emu.url + "/") for t in targets), targets
    paths = [t.split(" ", 1)[1][len(emu.url):] for t in targets]
    assert any(p.startswith("/list") for p in paths[:after_plan])  # plan listed through it
    assert any(p.startswith("/stat/") or p.startswith("/batch") for p in paths)  # stat
    assert any(p == "/" or p.startswith("/buckets/") or p.startswith("/mkblk") for p in paths)  # uploads
    assert any(p.startswith("/dl/") for p in paths)  # the download
    assert (tmp_path / "down" / "r.txt").read_bytes() == b"remote object"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "ok"


def test_no_proxy_covering_the_host_bypasses_it(tmp_path: Path, emu: RunningEmulator, proxy: ForwardProxy,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = _manifest(tmp_path, emu)
    before = _served(emu)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert cli("plan", manifest).code == 0
    done = cli("run", manifest)
    assert done.code == 0, done.out + done.err
    assert _served(emu) - before > 5
    assert proxy.log.targets() == []


def test_embedded_target_never_uses_a_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(tmp_path / "src", {"a.txt": "alpha"})
    (tmp_path / "m.yaml").write_text(
        "version: 1\ntarget: {embedded: true}\njobs:\n"
        "  - {name: up, kind: sync, source: ./src, bucket: demo}\n", encoding="utf-8")
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead.getsockname()[1]}")  # nothing listens
    dead.close()
    done = cli("run", tmp_path / "m.yaml")
    assert done.code == 0, done.out + done.err


class EarlyUnauthorized(LoopbackServer):
    """Answers listings with an empty page; answers any request with a body over 1 MiB ``401``
    as soon as its head arrived, then closes without reading the body."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            self.requests.append(lines[0])
            length = next((int(v) for n, _, v in (line.partition(": ") for line in lines[1:])
                           if n.lower() == "content-length"), 0)
            if length > 1024 * 1024:
                conn.sendall(b'HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n'
                             b'Content-Length: 26\r\nConnection: close\r\n\r\n{"error":"bad token here"}')
                return  # closed with the body unread
            while len(buf) < length:
                buf += conn.recv(65536)
            buf = buf[length:]
            body = b'{"items":[],"commonPrefixes":[]}'
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)


def test_early_401_during_a_large_upload_stops_the_run_after_one_request(tmp_path: Path) -> None:
    server = EarlyUnauthorized()
    try:
        make_tree(tmp_path / "src", {"big.bin": b"q" * (4 * 1024 * 1024 + 100)})
        manifest = write_manifest(tmp_path, server.url,
                                  sync_job("./src", upload={"threshold": "8MiB"}, concurrency=1))
        done = cli("run", manifest)
    finally:
        server.close()
    uploads = [r for r in server.requests if r.startswith("POST / ")]
    assert uploads == ["POST / HTTP/1.1"], server.requests  # one upload request, never retried
    assert done.code == 1, done.out + done.err
    assert "bad token here" in done.out + done.err
    assert "run aborted" in done.out and "code=401" in done.out + done.err
    assert "refused the credentials" in done.out and "target.secret_key" in done.out  # the run-fatal 401 line


def test_proxy_credentials_never_reach_console_log_report_or_plan(tmp_path: Path) -> None:
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()  # nothing listens: every request fails at the proxy
    make_tree(tmp_path / "src", {"a.txt": "alpha"})
    manifest = write_manifest(tmp_path, "http://127.0.0.1:9", sync_job("./src"))
    text = manifest.read_text().replace(
        "  secret_key: test-sk\n", f"  secret_key: test-sk\n  proxy: http://eve:0ut-of-sight-pw@127.0.0.1:{port}\n")
    manifest.write_text(text)
    planned = cli("plan", manifest, "--json")
    ran = cli("run", manifest, "--report", tmp_path / "report.json", "--log-format", "json")
    outputs = [planned.out, planned.err, ran.out, ran.err, (tmp_path / "report.json").read_text()]
    assert ran.code == 1 and planned.code != 0
    assert f"cannot reach proxy http://***@127.0.0.1:{port}" in planned.out + planned.err
    assert f"cannot reach proxy http://***@127.0.0.1:{port}: connection refused" in ran.out + ran.err
    for output in outputs:
        assert "0ut-of-sight-pw" not in output and "eve:" not in output
