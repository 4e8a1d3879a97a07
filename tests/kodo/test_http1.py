"""kodo_jobs.kodo.http1 against raw local sockets: the framings it must read, the connection
reuse rules, what it refuses to send, and the fallback to urllib3 for chunked request bodies.

Each server here is a few lines over a listening socket that answers with exact bytes, so the
answers can be ones the emulator never gives (chunked, gzip, HTTP/1.0, 100 Continue, a close
in the middle of a keep-alive).
"""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kodo_jobs.kodo import errors
from kodo_jobs.kodo.config import Timeouts
from kodo_jobs.kodo.http import HttpClient
from kodo_jobs.kodo.http1 import Headers, Http1Error, Http1Pool
from tests.kodo.loopback import LoopbackServer, read_request

Reply = Callable[[bytes, int], bytes | None]
"""(request head + body, index of the request on its connection) -> raw answer, or None to close
without answering. The server closes after an HTTP/1.0 or ``Connection: close`` answer."""


class RawServer(LoopbackServer):
    """Answers each request with exact bytes; counts connections and keeps what arrived."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        buf = b""
        index = 0
        while (request := read_request(conn, buf)) is not None:
            head, body, buf = request
            self.requests.append(head + b"\r\n\r\n" + body)
            answer = self.reply(self.requests[-1], index)
            index += 1
            if answer is None:
                return
            conn.sendall(answer)
            if answer.startswith(b"HTTP/1.0") or b"Connection: close" in answer:
                return  # what such a server does after answering


@pytest.fixture
def raw() -> Iterator[Callable[[Reply], RawServer]]:
    servers: list[RawServer] = []

    def start(reply: Reply) -> RawServer:
        server = RawServer(reply)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def answer(body: bytes, *headers: str, status: str = "200 OK", version: str = "HTTP/1.1") -> bytes:
    lines = [f"{version} {status}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def sized(body: bytes, *headers: str) -> bytes:
    return answer(body, f"Content-Length: {len(body)}", *headers)


def get(pool: Http1Pool, method: str = "GET", body: Any = None,
        headers: dict[str, str] | None = None) -> tuple[int, Headers, bytes]:
    sent = dict(headers or {})
    if body is not None:
        sent.setdefault("Content-Length", str(len(body)))
    return pool.request(method, "/x", sent, body, connect_timeout=5, read_timeout=5)


def test_content_length_answers_reuse_one_connection(raw: Any) -> None:
    server = raw(lambda req, i: sized(b'{"n":%d}' % i, "X-Reqid: r1", "X-Reqid: r2"))
    pool = Http1Pool("127.0.0.1", server.port, 2)
    for i in range(5):
        status, headers, content = get(pool, "POST", b"abc")
        assert (status, content) == (200, b'{"n":%d}' % i)
    assert headers["x-reqid"] == "r1, r2" and "X-REQID" in headers and list(headers) == ["Content-Length", "X-Reqid"]
    assert server.connections == 1 and pool.connections_made == 1
    first = server.requests[0]
    assert first.startswith(b"POST /x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % server.port)
    assert b"Accept-Encoding: identity\r\n" in first and first.endswith(b"\r\n\r\nabc")
    pool.close()


def test_chunked_gzip_and_interim_answers_are_read_whole(raw: Any) -> None:
    payload = b'{"items":[' + b'"x",' * 5000 + b'"y"]}'
    packed = gzip.compress(payload)
    chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(packed[i:i + 1000]), packed[i:i + 1000])
                      for i in range(0, len(packed), 1000))

    def reply(req: bytes, i: int) -> bytes:
        if i == 0:
            return answer(chunks + b"0\r\nX-Trailer: t\r\n\r\n", "Transfer-Encoding: chunked", "Content-Encoding: gzip")
        return b"HTTP/1.1 100 Continue\r\n\r\n" + sized(b"second")

    server = raw(reply)
    pool = Http1Pool("127.0.0.1", server.port, 1)
    assert get(pool)[2] == payload
    status, _, content = get(pool)
    assert (status, content) == (200, b"second") and server.connections == 1
    pool.close()


@pytest.mark.parametrize("closing", [
    sized(b"bye", "Connection: close"),
    answer(b"until the end", version="HTTP/1.0"),  # no length: the body ends with the connection
    answer(b"ten bytes!", "Content-Length: 10", version="HTTP/1.0"),
])
def test_answers_that_end_the_connection_are_not_reused(raw: Any, closing: bytes) -> None:
    server = raw(lambda req, i: closing)
    pool = Http1Pool("127.0.0.1", server.port, 4)
    first = get(pool)[2]
    assert get(pool)[2] == first and server.connections == 2


def test_head_204_and_304_have_no_body(raw: Any) -> None:
    server = raw(lambda req, i: answer(b"", "Content-Length: 99", status=["200 OK", "204 No Content",
                                                                          "304 Not Modified"][i]))
    pool = Http1Pool("127.0.0.1", server.port, 1)
    assert get(pool, "HEAD")[::2] == (200, b"")
    assert get(pool)[::2] == (204, b"") and get(pool)[::2] == (304, b"")
    assert server.connections == 1


def test_idle_connection_closed_by_the_server_is_not_used(raw: Any) -> None:
    server = raw(lambda req, i: sized(b"once", "Connection: keep-alive") if i == 0 else None)
    pool = Http1Pool("127.0.0.1", server.port, 1)
    assert get(pool)[2] == b"once"
    # the server closes after the first answer only when the next request arrives (below) -- so
    # the first reuse fails before any answer byte: a GET is sent again on a new connection
    assert get(pool)[2] == b"once" and server.connections == 2
    with pytest.raises(Http1Error):  # a POST is not: it may have been carried out
        get(pool, "POST", b"data")
    assert server.connections == 2


def test_cut_short_and_garbled_answers_are_errors(raw: Any) -> None:
    answers = [answer(b"abc", "Content-Length: 10"), b"SMTP ready\r\n\r\n",
               answer(b"", "Content-Length: nope"), answer(b"5\r\nab", "Transfer-Encoding: chunked")]
    server = raw(lambda req, i: answers.pop(0) if answers else None)
    pool = Http1Pool("127.0.0.1", server.port, 1)
    for _ in range(4):
        with pytest.raises(Http1Error):
            get(pool)
        # a connection that failed is never handed out again
    assert pool._idle == []


def test_refuses_to_send_split_headers_or_request_lines(raw: Any) -> None:
    server = raw(lambda req, i: sized(b""))
    pool = Http1Pool("127.0.0.1", server.port, 1)
    for bad in ({"X-A": "1\r\nX-Injected: 2"}, {"X-A\r\nB": "1"}):
        with pytest.raises(ValueError):
            get(pool, headers=bad)
    with pytest.raises(ValueError):
        pool.request("GET", "/a b", {}, None, connect_timeout=1, read_timeout=1)
    assert server.requests == []


def test_seam_maps_timeouts_refusals_and_resets(raw: Any) -> None:
    gate = threading.Event()

    def slow(req: bytes, i: int) -> bytes:
        gate.wait(5)
        return sized(b"late")

    slow_server = raw(slow)
    http = HttpClient(Timeouts(connect=1, read=0.3))
    with pytest.raises(errors.RequestTimeout, match="ReadTimeout"):
        http.request("GET", [slow_server.url], "/", failover=False)
    gate.set()
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    with pytest.raises(errors.TransportError, match="ConnectionError"):
        http.request("GET", [f"http://127.0.0.1:{port}"], "/", failover=False)
    reset = raw(lambda req, i: None)
    with pytest.raises(errors.TransportError, match="ConnectionError"):
        http.request("POST", [reset.url], "/", data=b"x", failover=False)
    http.close()


def test_body_of_unknown_length_goes_chunked_through_urllib3(raw: Any) -> None:
    def reply(req: bytes, i: int) -> bytes:
        return sized(b"{}")

    server = raw(reply)
    http = HttpClient()

    def pieces() -> Iterator[bytes]:
        yield b"0\r\n\r\n"  # what a chunked body's terminator looks like: our server reads none
    # RawServer reads by Content-Length only; a chunked request arrives with none, so it answers
    # at once and the request bytes show the framing urllib3 chose
    http.request("POST", [server.url], "/stream", data=pieces())
    assert b"Transfer-Encoding: chunked" in next(r for r in server.requests if r.startswith(b"POST /stream "))
    http.request("POST", [server.url], "/sized", data=b"abc")
    sized_request = next(r for r in server.requests if r.startswith(b"POST /sized "))
    assert b"Content-Length: 3" in sized_request and b"Transfer-Encoding" not in sized_request
    http.close()


def test_host_header_is_the_base_urls_own_spelling(raw: Any) -> None:
    server = raw(lambda req, i: sized(b"{}"))
    http = HttpClient()
    http.request("GET", [f"http://localhost:{server.port}"], "/a")
    assert b"\r\nHost: localhost:%d\r\n" % server.port in server.requests[0]
    http.close()
