"""``download_to`` follows redirects: at most five, the same ``Range`` on every hop, the
``Location`` exactly as the server wrote it (nothing re-signed or added), never from https to
http. Scripted loopback servers answer each path as the test tells them."""

from __future__ import annotations

import io
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from kodo_jobs.kodo import errors
from kodo_jobs.kodo.download import download_to
from kodo_jobs.kodo.http import HttpClient
from kodo_jobs.kodo.network import Network
from tests.kodo.loopback import LoopbackServer, read_request

BODY = bytes(range(256)) * 40

Script = Callable[[str, dict[str, str]], tuple[int, dict[str, str], bytes]]


class Scripted(LoopbackServer):
    """Calls ``script(target, headers)`` for every request; records ``(target, headers)``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[tuple[str, dict[str, str]]] = []
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        buf = b""
        while (request := read_request(conn, buf)) is not None:
            head, _, buf = request
            lines = head.decode("latin-1").split("\r\n")
            target = lines[0].split(" ")[1]
            headers = dict(line.split(": ", 1) for line in lines[1:])
            self.seen.append((target, headers))
            status, extra, body = self.script(target, headers)
            out = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in extra.items())]
            conn.sendall(("\r\n".join(out) + "\r\n\r\n").encode() + body)


def object_answer(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    rng = headers.get("Range")
    if rng:
        start = int(rng.removeprefix("bytes=").rstrip("-"))
        return 206, {"Content-Range": f"bytes {start}-{len(BODY) - 1}/{len(BODY)}", "ETag": '"e"'}, BODY[start:]
    return 200, {"ETag": '"e"'}, BODY


@pytest.fixture
def servers() -> Iterator[list[Scripted]]:
    made: list[Scripted] = []
    yield made
    for server in made:
        server.close()


def test_relative_and_cross_host_redirects_keep_range_and_the_location_as_given(servers: list[Scripted]) -> None:
    origin = Scripted(lambda target, headers: object_answer(headers))
    front = Scripted(lambda target, headers: (
        (302, {"Location": "/hop?x=1"}, b"") if target.startswith("/start") else
        (307, {"Location": f"{origin.url}/obj?e=99&token=server-chosen"}, b"")))
    servers += [origin, front]
    out = io.BytesIO(BODY[:1000])
    out.seek(1000)
    http = HttpClient()
    result = download_to(http, f"{front.url}/start?e=1&token=ours", out, offset=1000)
    assert result.resumed and result.written == len(BODY) - 1000 and out.getvalue() == BODY
    assert [t for t, _ in front.seen] == ["/start?e=1&token=ours", "/hop?x=1"]
    assert origin.seen[0][0] == "/obj?e=99&token=server-chosen"  # nothing re-signed, nothing added
    assert all(h.get("Range") == "bytes=1000-" for _, h in front.seen + origin.seen)
    assert all("Authorization" not in h for _, h in front.seen + origin.seen)
    http.close()


def test_redirects_are_bounded(servers: list[Scripted]) -> None:
    loop = Scripted(lambda target, headers: (301, {"Location": f"/n{int(target[2:] or 0) + 1}"}, b""))
    servers.append(loop)
    http = HttpClient()
    with pytest.raises(errors.PermanentError, match="more than 5 redirects"):
        download_to(http, f"{loop.url}/n0", io.BytesIO())
    assert len(loop.seen) == 6  # the first request and five redirects followed
    http.close()


def test_five_redirects_are_followed(servers: list[Scripted]) -> None:
    chain = Scripted(lambda target, headers: (
        object_answer(headers) if target == "/n5" else (302, {"Location": f"/n{int(target[2:]) + 1}"}, b"")))
    servers.append(chain)
    http = HttpClient()
    out = io.BytesIO()
    assert download_to(http, f"{chain.url}/n0", out).written == len(BODY) and out.getvalue() == BODY
    http.close()


def test_https_to_http_redirect_is_refused(tmp_path: Path, servers: list[Scripted]) -> None:
    plain = Scripted(lambda target, headers: object_answer(headers))
    servers.append(plain)
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def run() -> None:
        try:
            raw, _ = listener.accept()
        except OSError:
            return
        with context.wrap_socket(raw, server_side=True) as conn:
            if read_request(conn, b"") is not None:  # type: ignore[arg-type]
                conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {plain.url}/obj?token=t\r\n"
                             "Content-Length: 0\r\n\r\n".encode())

    threading.Thread(target=run, daemon=True).start()
    http = HttpClient(network=Network(ca_bundle=str(tmp_path / "ca.pem")))
    try:
        with pytest.raises(errors.PermanentError, match="refused a redirect") as info:
            download_to(http, f"https://127.0.0.1:{listener.getsockname()[1]}/obj", io.BytesIO())
        assert "token=***" in str(info.value) and "token=t" not in str(info.value)
        assert plain.seen == []
    finally:
        http.close()
        listener.close()
