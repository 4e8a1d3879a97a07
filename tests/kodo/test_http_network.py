"""Proxies, TLS trust and failure causes of the http seam, on loopback only.

* an unresolvable name (``*.invalid``, RFC 6761: never resolves; answered here by the resolver
  hook without asking any DNS server), a closed port, an untrusted certificate (a ``trustme``
  CA the client does not know), a proxy that answers 403 to CONNECT: each failure names its
  cause (and, for TLS, the fix);
* environment proxies as ``requests`` reads them (no ``NO_PROXY``: even 127.0.0.1 goes through
  the proxy on Linux), ``NO_PROXY`` bypassing, ``target.proxy`` overriding the environment,
  ``direct`` ignoring it, credentials masked in messages and sent as ``Proxy-Authorization``;
* the CA bundle: ``ca_bundle``, ``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``;
* an answer that arrives while a 4 MiB body is still being sent is reported as that answer.
"""

from __future__ import annotations

import base64
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from kodo_jobs.kodo import errors
from kodo_jobs.kodo.config import Timeouts
from kodo_jobs.kodo.http import HttpClient
from kodo_jobs.kodo.network import Network, mask_url_credentials
from tests.fixtures.forward_proxy import ForwardProxy
from tests.kodo.loopback import LoopbackServer, read_request

PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
             "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)


class OkServer(LoopbackServer):
    """Answers every request ``200 {"ok":1}`` and records the request lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        buf = b""
        while (request := read_request(conn, buf)) is not None:
            head, _, buf = request
            self.lines.append(head.split(b"\r\n", 1)[0].decode())
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Reqid: ok\r\n\r\n{"ok":1}')


@pytest.fixture
def origin() -> Iterator[OkServer]:
    server = OkServer()
    yield server
    server.close()


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    running = ForwardProxy()
    yield running
    running.close()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


# --- failure causes -------------------------------------------------------------------------

def test_unresolvable_name_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    http = HttpClient()
    with pytest.raises(errors.TransportError) as info:
        http.request("GET", ["http://nonexistent.invalid"], "/x")
    assert info.value.message == "cannot resolve nonexistent.invalid"
    assert not isinstance(info.value, errors.RequestTimeout)
    http.close()


def test_refused_connection_is_named() -> None:
    port = closed_port()
    http = HttpClient()
    with pytest.raises(errors.TransportError) as info:
        http.request("GET", [f"http://127.0.0.1:{port}"], "/x")
    assert info.value.message == f"connection refused (127.0.0.1:{port})"
    http.close()


# --- TLS trust ------------------------------------------------------------------------------

@pytest.fixture
def tls_origin(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An https server whose certificate a fresh trustme CA signed: ``(base URL, CA PEM path)``."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def answer(raw: socket.socket) -> None:
        try:
            with context.wrap_socket(raw, server_side=True) as conn:
                buf = b""
                while (request := read_request(conn, buf)) is not None:  # type: ignore[arg-type]
                    buf = request[2]
                    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Reqid: tls\r\n\r\n{"ok":1}')
        except (OSError, ssl.SSLError):
            raw.close()  # the client refused our certificate

    def run() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(raw,), daemon=True).start()

    threading.Thread(target=run, daemon=True).start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}", ca_path
    listener.close()


def test_untrusted_certificate_names_the_host_and_the_fix(tls_origin: tuple[str, Path]) -> None:
    url, _ = tls_origin
    http = HttpClient()  # certifi's bundle: does not know the test CA
    with pytest.raises(errors.TlsUntrusted) as info:
        http.request("GET", [url], "/x")
    message = info.value.message
    assert message.startswith("TLS verification failed for 127.0.0.1: unable to get local issuer certificate")
    assert "target.ca_bundle" in message and "REQUESTS_CA_BUNDLE" in message
    assert isinstance(info.value, errors.RunFatalError)
    http.close()


@pytest.mark.parametrize("how", ["ca_bundle", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"])
def test_a_named_ca_bundle_is_trusted(tls_origin: tuple[str, Path], how: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url, ca_path = tls_origin
    if how == "ca_bundle":
        http = HttpClient(network=Network(ca_bundle=str(ca_path)))
    else:
        monkeypatch.setenv(how, str(ca_path))
        http = HttpClient()
    assert http.request("GET", [url], "/x").reqid == "tls"
    http.close()


def test_ca_bundle_wins_over_the_environment(tls_origin: tuple[str, Path], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    url, ca_path = tls_origin
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_path))
    http = HttpClient(network=Network(ca_bundle=str(other)))
    with pytest.raises(errors.TlsUntrusted):
        http.request("GET", [url], "/x")
    http.close()


# --- proxies --------------------------------------------------------------------------------

def test_environment_proxy_carries_loopback_requests_unless_no_proxy(origin: OkServer, proxy: ForwardProxy,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)  # no NO_PROXY: on Linux even 127.0.0.1 is proxied
    http = HttpClient()
    http.request("GET", [origin.url], "/via?x=1")
    assert proxy.log.targets() == [f"GET {origin.url}/via?x=1"]
    assert origin.lines == ["GET /via?x=1 HTTP/1.1"]
    http.close()
    monkeypatch.setenv("no_proxy", "127.0.0.1")  # either case
    http = HttpClient()
    http.request("GET", [origin.url], "/direct")
    assert proxy.log.targets() == [f"GET {origin.url}/via?x=1"]
    assert origin.lines[-1] == "GET /direct HTTP/1.1"
    http.close()


def test_target_proxy_overrides_the_environment_and_direct_ignores_it(
        origin: OkServer, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    http = HttpClient(network=Network(proxy=proxy.url))  # NO_PROXY does not exempt from target.proxy
    http.request("POST", [origin.url], "/a", data=b"body")
    assert proxy.log.targets() == [f"POST {origin.url}/a"]
    http.close()
    monkeypatch.delenv("NO_PROXY")
    direct = HttpClient(network=Network(direct=True))
    direct.request("GET", [origin.url], "/b")
    assert origin.lines[-1] == "GET /b HTTP/1.1" and len(proxy.log.targets()) == 1
    direct.close()


def test_https_goes_through_a_connect_tunnel(tls_origin: tuple[str, Path], proxy: ForwardProxy,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    url, ca_path = tls_origin
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    http = HttpClient(network=Network(ca_bundle=str(ca_path)))
    assert http.request("GET", [url], "/x").reqid == "tls"
    assert proxy.log.targets() == [f"CONNECT {url.removeprefix('https://')}"]
    http.close()


def test_proxy_refusing_connect_is_named_and_fatal(tls_origin: tuple[str, Path]) -> None:
    url, ca_path = tls_origin
    refusing = ForwardProxy(refuse_connect=403)
    try:
        http = HttpClient(network=Network(proxy=refusing.url, ca_bundle=str(ca_path)))
        with pytest.raises(errors.ProxyRefused) as info:
            http.request("GET", [url], "/x")
        host_port = url.removeprefix("https://")
        assert info.value.message == f"proxy {refusing.url} refused CONNECT to {host_port}: 403 Forbidden"
        assert isinstance(info.value, errors.RunFatalError)
        http.close()
    finally:
        refusing.close()


def test_proxy_credentials_are_sent_to_the_proxy_and_masked_in_messages(origin: OkServer,
                                                                        proxy: ForwardProxy) -> None:
    port = proxy.url.rsplit(":", 1)[1]
    http = HttpClient(network=Network(proxy=f"http://alice:s3cr3t-pw@127.0.0.1:{port}"))
    http.request("GET", [origin.url], "/x")
    _, _, headers = proxy.log.entries[0]
    assert headers["Proxy-Authorization"] == "Basic " + base64.b64encode(b"alice:s3cr3t-pw").decode()
    http.close()
    dead = f"http://alice:s3cr3t-pw@127.0.0.1:{closed_port()}"
    http = HttpClient(network=Network(proxy=dead))
    with pytest.raises(errors.TransportError) as info:
        http.request("GET", [origin.url], "/x")
    assert "s3cr3t-pw" not in str(info.value) and "alice" not in str(info.value)
    assert info.value.message == f"cannot reach proxy {mask_url_credentials(dead)}: connection refused"
    http.close()


def test_proxy_url_is_checked() -> None:
    for bad in ("ftp://p:1", "http://", "http://p:1/path", "p:1"):
        with pytest.raises(ValueError, match="proxy URL"):
            Network(proxy=bad)
    assert mask_url_credentials("via http://u:p%40ss@h:1 and https://tok@h2/") == (
        "via http://***@h:1 and https://***@h2/")


# --- an early answer ------------------------------------------------------------------------

class EarlyAnswer(LoopbackServer):
    """Reads a request's head, answers 401 at once and closes without reading the body."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
        self.heads.append(buf.split(b"\r\n\r\n", 1)[0])
        conn.sendall(b'HTTP/1.1 401 Unauthorized\r\nContent-Length: 27\r\nConnection: close\r\n'
                     b'X-Reqid: early\r\n\r\n{"error":"bad token early"}')
        # closing with the body unread resets the connection while the client is still sending


def test_an_answer_during_the_body_is_reported_as_that_answer() -> None:
    server = EarlyAnswer()
    http = HttpClient(Timeouts(connect=5, read=30))
    try:
        with pytest.raises(errors.Unauthorized) as info:
            http.request("PUT", [server.url, server.url], "/mkblk", data=bytes(4 * 1024 * 1024))
        assert info.value.status == 401 and info.value.message == "bad token early"
        assert info.value.reqid == "early"
        assert server.connections == 1 and len(server.heads) == 1  # no failover, no resend
    finally:
        http.close()
        server.close()
