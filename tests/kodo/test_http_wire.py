"""The http seam (one pooled ``requests`` session) against real local sockets.

A scripted HTTP/1.1 server (raw sockets, so it can drop a connection or stall) records what
arrived and answers what each test tells it; the emulator's own fault injection is covered
in test_faults_hosts_ops.py. Checked here: status mapping, 573 with Retry-After, a dropped
connection, a read timeout, failover over refused/5xx/slow hosts, the exact bytes sent
(bodies, Content-Length, URL requoting), signatures over the prepared request, header
injection refused, response hooks, and connection reuse. Proxies, TLS trust and the causes
named in failure messages: test_http_network.py.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from kodo_jobs.kodo import errors
from kodo_jobs.kodo.auth import QBoxAuth, QiniuAuth, UpTokenAuth
from kodo_jobs.kodo.config import Credentials, Timeouts
from kodo_jobs.kodo.http import HttpClient
from kodo_jobs.kodo.upload.form import build_form
from tests.kodo.loopback import LoopbackServer, read_request


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Action = tuple[Any, ...]  # ("answer", status, headers, body) | ("drop",) | ("sleep", s, status, headers, body)


class Server(LoopbackServer):
    """One listening socket; ``script(seen) -> action`` decides each answer."""

    def __init__(self, script: Callable[[Seen], Action]) -> None:
        self.script = script
        self.seen: list[Seen] = []
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        buf = b""
        while (request := read_request(conn, buf)) is not None:
            head, body, buf = request
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in lines[1:])
            seen = Seen(method, target, headers, body)
            self.seen.append(seen)
            action = self.script(seen)
            if action[0] == "drop":
                return
            if action[0] == "sleep":
                time.sleep(action[1])
                action = ("answer", *action[2:])
            _, status, extra, payload = action
            out = [f"HTTP/1.1 {status} X", f"Content-Length: {len(payload)}", "X-Reqid: rq-1",
                   *(f"{k}: {v}" for k, v in extra.items())]
            conn.sendall(("\r\n".join(out) + "\r\n\r\n").encode() + payload)


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Seen], Action]], Server]]:
    servers: list[Server] = []

    def start(script: Callable[[Seen], Action]) -> Server:
        server = Server(script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def ok(body: bytes = b'{"ok":1}') -> Callable[[Seen], Action]:
    return lambda seen: ("answer", 200, {}, body)


def refused_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more: connecting is refused
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(("status", "cls"), [
    (400, errors.BadRequest), (401, errors.Unauthorized), (612, errors.NotFound), (614, errors.AlreadyExists),
    (631, errors.NoSuchBucket), (579, errors.PermanentError), (599, errors.ServerError), (503, errors.ServerError),
])
def test_status_mapping_over_the_wire(serve: Any, status: int, cls: type[errors.KodoError]) -> None:
    server = serve(lambda seen: ("answer", status, {}, b'{"error":"boom"}'))
    http = HttpClient()
    with pytest.raises(cls) as info:
        http.request("GET", [server.url], "/x?token=ak:secret-sig&e=1", failover=False)
    err = info.value
    assert type(err) is cls
    assert (err.status, err.message, err.reqid, err.method) == (status, "boom", "rq-1", "GET")
    assert "secret-sig" not in err.url and err.url.endswith("/x?token=***&e=***")
    http.close()


def test_throttle_with_retry_after_is_not_failed_over(serve: Any) -> None:
    a = serve(lambda seen: ("answer", 573, {"Retry-After": "7"}, b'{"error":"slow down"}'))
    b = serve(ok())
    http = HttpClient()
    with pytest.raises(errors.Throttled) as info:
        http.request("POST", [a.url, b.url], "/x")
    assert info.value.retry_after == 7.0 and info.value.status == 573
    assert (len(a.seen), len(b.seen)) == (1, 0)
    http.close()


def test_restart_codes(serve: Any) -> None:
    server = serve(lambda seen: ("answer", 612, {}, b'{"error":"no such uploadId"}'))
    http = HttpClient()
    with pytest.raises(errors.UploadRestartRequired):
        http.request("PUT", [server.url], "/p", data=b"x", restart_codes=(612,))
    http.close()


def test_dropped_connection_is_a_transport_error_and_fails_over(serve: Any) -> None:
    a = serve(lambda seen: ("drop",))
    b = serve(ok())
    http = HttpClient()
    with pytest.raises(errors.TransportError) as info:
        http.request("POST", [a.url], "/x", data=b"abc")
    assert not isinstance(info.value, errors.RequestTimeout) and info.value.status == 0
    assert http.request("POST", [a.url, b.url], "/x", data=b"abc").json() == {"ok": 1}
    assert len(a.seen) == 2 and len(b.seen) == 1
    http.close()


def test_read_timeout_is_request_timeout_and_fails_over(serve: Any) -> None:
    slow = serve(lambda seen: ("sleep", 1.5, 200, {}, b"{}"))
    fast = serve(ok())
    http = HttpClient(Timeouts(connect=2, read=0.3))
    with pytest.raises(errors.RequestTimeout) as info:
        http.request("GET", [slow.url], "/x?token=sec")
    port = slow.port
    assert info.value.message == f"timed out after 0.3 s waiting for 127.0.0.1:{port} to answer"
    assert "sec" not in str(info.value)
    assert http.request("GET", [slow.url, fast.url], "/x").json() == {"ok": 1}
    assert len(fast.seen) == 1
    http.close()


def test_failover_refused_then_5xx_then_success(serve: Any) -> None:
    b = serve(lambda seen: ("answer", 503, {}, b"{}"))
    c = serve(ok(b'{"done":true}'))
    http = HttpClient()
    resp = http.request("GET", [refused_url(), b.url, c.url], "/x")
    assert resp.json() == {"done": True} and resp.reqid == "rq-1" and resp.url == c.url + "/x"
    assert (len(b.seen), len(c.seen)) == (1, 1)
    closed = refused_url()
    with pytest.raises(errors.TransportError) as info:
        http.request("GET", [closed], "/x")
    assert info.value.message == f"connection refused ({closed.removeprefix('http://')})"
    with pytest.raises(errors.ServerError):  # without failover the first 5xx is final
        http.request("GET", [b.url, c.url], "/x", failover=False)
    assert len(c.seen) == 1
    http.close()


def test_bodies_and_framing_on_the_wire(serve: Any) -> None:
    server = serve(ok())
    http = HttpClient()
    base = [server.url]
    http.request("POST", base, "/str", data="a=1&b=%2F", headers={"Content-Type": "application/x-www-form-urlencoded"})
    http.request("POST", base, "/dict", data={"op": ["x", "y"], "k": "v w"})
    http.request("POST", base, "/json", json_body={"a": [1, "é"]})
    http.request("PUT", base, "/mv", data=memoryview(b"0123456789")[2:6])
    http.request("POST", base, "/none")
    http.request("GET", base, "/get", params={"marker": "m/1", "limit": 5})
    http.request("DELETE", base, "/del")
    by_path = {s.target.split("?")[0]: s for s in server.seen}
    assert by_path["/str"].body == b"a=1&b=%2F"
    assert by_path["/dict"].body == b"op=x&op=y&k=v+w"
    assert by_path["/dict"].headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert json.loads(by_path["/json"].body) == {"a": [1, "é"]}
    assert by_path["/json"].headers["Content-Type"] == "application/json"
    assert by_path["/mv"].body == b"2345" and by_path["/mv"].headers["Content-Length"] == "4"
    assert by_path["/none"].headers["Content-Length"] == "0" and by_path["/del"].headers["Content-Length"] == "0"
    assert "Content-Length" not in by_path["/get"].headers
    assert by_path["/get"].target == "/get?marker=m%2F1&limit=5"
    assert all("Transfer-Encoding" not in s.headers for s in server.seen)
    assert all(s.headers["User-Agent"].startswith("kodo-jobs") for s in server.seen)
    http.close()


def test_streamed_multipart_body_has_a_length_and_arrives_whole(serve: Any, tmp_path: Any) -> None:
    server = serve(ok())
    path = tmp_path / "f"
    data = bytes(range(256)) * 9000  # > 2 MiB: sent in 1 MiB chunks from the file
    path.write_bytes(data)
    body = build_form("tok", "k", (str(path), len(data)), crc32=1, fname="f", mime_type="application/octet-stream")
    http = HttpClient()
    http.request("POST", [server.url], "/", data=body.payload(), headers={"Content-Type": body.content_type})
    got = server.seen[0]
    assert got.headers["Content-Length"] == str(len(body)) and "Transfer-Encoding" not in got.headers
    assert got.body == b"".join(body) and data in got.body
    http.close()


def test_memoryview_and_bytes_reach_urllib3_uncopied(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib3.connectionpool import HTTPConnectionPool

    server = serve(ok())
    part = bytes(4 * 1024 * 1024)
    view = memoryview(part)[1:]
    bodies: list[Any] = []
    real = HTTPConnectionPool.urlopen

    def spy(self: Any, method: str, url: str, body: Any = None, *args: Any, **kw: Any) -> Any:
        bodies.append(body)
        return real(self, method, url, body, *args, **kw)

    monkeypatch.setattr(HTTPConnectionPool, "urlopen", spy)
    http = HttpClient()
    http.request("PUT", [server.url], "/p", data=part)
    http.request("PUT", [server.url], "/v", data=view)
    assert bodies[0] is part and bodies[1] is view
    assert [len(s.body) for s in server.seen] == [len(part), len(part) - 1]
    assert server.seen[1].headers["Content-Length"] == str(len(part) - 1)
    http.close()


def test_header_injection_is_refused_before_sending(serve: Any) -> None:
    server = serve(ok())
    http = HttpClient()
    for headers in ({"X-A": "1\r\nX-Injected: yes"}, {"X-A": "1\nX-Injected: yes"}):
        with pytest.raises(errors.BadRequest, match="cannot send this request"):
            http.request("GET", [server.url], "/x", headers=headers)
    assert server.seen == []
    http.close()


def _requests_url_and_headers(method: str, url: str, auth: Any, **kw: Any) -> tuple[str, dict[str, str]]:
    prepared = requests.Request(method, url, auth=auth, **kw).prepare()
    return prepared.url or "", dict(prepared.headers)


CREDS = Credentials("ak-test", "sk-test")
DATE = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("method", "path", "kw"), [
    ("POST", "/stat/YjprZXk=", {"headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
    ("POST", "/batch", {"data": "op=/stat/Yjpr&op=/delete/Yjpy",
                        "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
    ("GET", "/list?bucket=b&prefix=a%2Fb c&limit=10", {"headers": {"X-Qiniu-Meta": "1"}}),
    ("POST", "/v2/tune/refresh", {"json": {"urls": ["http://a/b"]}}),
    ("POST", "/mkblk/4", {"data": b"\x00\x01", "headers": {"Content-Type": "application/octet-stream"}}),
])
@pytest.mark.parametrize("auth", [QiniuAuth(CREDS, clock=lambda: DATE), QBoxAuth(CREDS), UpTokenAuth("a:b:c")])
def test_signatures_and_urls_match_the_requests_path(serve: Any, method: str, path: str, kw: dict[str, Any],
                                                     auth: Any) -> None:
    server = serve(ok())
    http = HttpClient()
    http.request(method, [server.url], path, data=kw.get("data"), json_body=kw.get("json"),
                 headers=kw.get("headers"), auth=auth)
    url, headers = _requests_url_and_headers(method, server.url + path, auth, data=kw.get("data"),
                                             json=kw.get("json"), headers=kw.get("headers"))
    got = server.seen[0]
    assert server.url + got.target == url
    for name in ("Authorization", "X-Qiniu-Date", "Content-Type", "Content-Length"):
        assert got.headers.get(name) == headers.get(name), name
    http.close()


def test_response_hooks_and_observers_see_every_answer(serve: Any) -> None:
    server = serve(lambda seen: ("answer", 404 if seen.target == "/missing" else 200,
                                 {"Date": "Wed, 25 Nov 2026 08:00:00 GMT"}, b"{}"))
    http = HttpClient()
    got: list[requests.Response] = []
    observed: list[str] = []
    http.session.hooks["response"].append(lambda resp, *a, **k: got.append(resp))
    http.observe(lambda headers, seconds: observed.append(headers["Date"]))
    http.request("GET", [server.url], "/a?x=1")
    with pytest.raises(errors.NotFound):
        http.request("POST", [server.url], "/missing")
    assert [(r.request.method, r.request.url, r.status_code) for r in got] == [
        ("GET", server.url + "/a?x=1", 200), ("POST", server.url + "/missing", 404)]
    assert observed == ["Wed, 25 Nov 2026 08:00:00 GMT"] * 2
    http.close()


def test_connections_are_reused_and_pool_sized(serve: Any) -> None:
    server = serve(ok())
    http = HttpClient(pool_size=3)
    for _ in range(20):
        http.request("POST", [server.url], "/", data=b"x")
    assert server.connections == 1 and len(server.seen) == 20
    adapter = http.session.get_adapter(server.url)
    assert adapter.poolmanager.connection_pool_kw["maxsize"] == 3  # type: ignore[attr-defined]
    assert adapter.poolmanager.connection_pool_kw["blocksize"] == 1024 * 1024  # type: ignore[attr-defined]
    http.close()


def test_caller_session_keeps_requests_on_that_session(serve: Any) -> None:
    server = serve(ok())
    session = requests.Session()
    http = HttpClient(session=session)
    http.request("GET", [server.url], "/a")
    assert server.seen[0].headers["User-Agent"].startswith("python-requests")
    session.close()
