"""The http seam without a server: error mapping, Retry-After, redaction, and (through a caller-given
requests session with a fake adapter) failover and timeouts. Real sockets: test_http_wire.py;
proxies, TLS trust and failure causes: test_http_network.py."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from kodo_jobs.kodo import errors
from kodo_jobs.kodo.answers import error_for_status, fusion_error, parse_retry_after, redact_url
from kodo_jobs.kodo.config import Timeouts
from kodo_jobs.kodo.http import HttpClient


@pytest.mark.parametrize(("status", "cls"), [
    (400, errors.BadRequest), (401, errors.Unauthorized), (403, errors.Forbidden), (404, errors.NotFound),
    (406, errors.BadRequest), (413, errors.BadRequest), (419, errors.RunFatalError), (478, errors.BadRequest),
    (500, errors.ServerError), (501, errors.BadRequest), (502, errors.ServerError), (503, errors.ServerError),
    (504, errors.ServerError), (509, errors.Throttled), (573, errors.Throttled), (579, errors.PermanentError),
    (599, errors.ServerError), (608, errors.PermanentError), (612, errors.NotFound),
    (614, errors.AlreadyExists), (631, errors.NoSuchBucket), (640, errors.BadRequest),
    (701, errors.UploadRestartRequired), (650, errors.PermanentError),
])
def test_status_classes(status: int, cls: type[errors.KodoError]) -> None:
    err = error_for_status(status, b'{"error":"boom"}', {"X-Reqid": "r1"}, method="POST",
                           url="http://h/x?token=ak:sig&e=1")
    assert type(err) is cls
    assert (err.status, err.code, err.message, err.reqid, err.method) == (status, status, "boom", "r1", "POST")
    assert "sig" not in err.url and "sig" not in str(err)


def test_407_is_a_proxy_asking_for_credentials() -> None:
    err = error_for_status(407, b"auth please", {}, method="GET", url="http://h/x")
    assert type(err) is errors.ProxyRefused and isinstance(err, errors.RunFatalError)
    assert err.message.startswith("the proxy asks for authentication (407") and err.message.endswith("auth please")


def test_restart_codes_turn_612_into_restart() -> None:
    err = error_for_status(612, b"{}", {}, method="PUT", url="u", restart_codes=(612,))
    assert isinstance(err, errors.UploadRestartRequired)


def test_non_json_body_message() -> None:
    assert error_for_status(502, b"<html>bad gateway</html>", {}, method="GET", url="u").message == (
        "<html>bad gateway</html>")


def test_retry_after() -> None:
    err = error_for_status(573, b"{}", {"Retry-After": "7"}, method="GET", url="u")
    assert isinstance(err, errors.Throttled) and err.retry_after == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_redact_url() -> None:
    assert redact_url("http://d/k?e=1700&token=ak:s1g") == "http://d/k?e=***&token=***"
    assert redact_url("http://c/a.jpg?sign=abc&t=6553f100") == "http://c/a.jpg?sign=***&t=6553f100"


@pytest.mark.parametrize(("code", "cls"), [(400033, errors.QuotaExceeded), (400034, errors.QuotaExceeded),
                                            (400035, errors.QuotaExceeded), (400031, errors.BadRequest),
                                            (500000, errors.ServerError)])
def test_fusion_codes(code: int, cls: type[errors.KodoError]) -> None:
    err = fusion_error(code, "quota", 200, {}, method="POST", url="u")
    assert type(err) is cls and err.code == code


class FakeAdapter(BaseAdapter):
    """Answers from a script: an int status (with a JSON body) or an exception to raise."""

    def __init__(self, script: dict[str, list[Any]]) -> None:
        super().__init__()
        self.script = script
        self.seen: list[tuple[str, Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        host = request.url.split("/")[2] if request.url else ""
        self.seen.append((host, kwargs.get("timeout")))
        item = self.script[host].pop(0)
        if isinstance(item, Exception):
            raise item
        resp = requests.Response()
        resp.status_code, body = item
        resp._content = body
        resp.headers["X-Reqid"] = f"req-{host}"
        resp.url = request.url or ""
        resp.request = request
        return resp

    def close(self) -> None:
        pass


def _client(script: dict[str, list[Any]]) -> tuple[HttpClient, FakeAdapter]:
    session = requests.Session()
    adapter = FakeAdapter(script)
    session.mount("http://", adapter)
    return HttpClient(Timeouts(connect=3, read=9), session=session), adapter


def test_failover_on_transport_error_and_5xx_then_success() -> None:
    http, adapter = _client({"a": [requests.ConnectionError("refused")], "b": [(503, b"{}")],
                             "c": [(200, b'{"ok":1}')]})
    resp = http.request("GET", ["http://a", "http://b", "http://c"], "/x")
    assert resp.json() == {"ok": 1} and resp.reqid == "req-c"
    assert [h for h, _ in adapter.seen] == ["a", "b", "c"]
    assert all(t == (3, 9) for _, t in adapter.seen)


def test_no_failover_on_permanent_error_or_throttle() -> None:
    http, adapter = _client({"a": [(614, b'{"error":"file exists"}'), (573, b"{}")], "b": []})
    with pytest.raises(errors.AlreadyExists, match="file exists"):
        http.request("POST", ["http://a", "http://b"], "/x")
    with pytest.raises(errors.Throttled):
        http.request("POST", ["http://a", "http://b"], "/x")
    assert [h for h, _ in adapter.seen] == ["a", "a"]


def test_last_error_raised_when_all_hosts_fail() -> None:
    http, _ = _client({"a": [requests.ReadTimeout("slow")], "b": [requests.ConnectTimeout("slow")]})
    with pytest.raises(errors.RequestTimeout) as info:
        http.request("GET", ["http://a", "http://b"], "/x?token=secret")
    assert "secret" not in str(info.value) and info.value.status == 0


def test_fusion_body_code_on_200() -> None:
    http, _ = _client({"a": [(200, b'{"code":400034,"error":"refresh url limit"}')]})
    with pytest.raises(errors.QuotaExceeded) as info:
        http.request("POST", ["http://a"], "/v2/tune/refresh", json_body={}, fusion=True)
    assert info.value.code == 400034 and info.value.status == 200


def test_non_json_success_is_server_error() -> None:
    http, _ = _client({"a": [(200, b"not json")]})
    with pytest.raises(errors.ServerError):
        http.request("GET", ["http://a"], "/x").json()


def test_own_session_settings() -> None:
    http = HttpClient(pool_size=4)
    assert http.session.trust_env is False  # ~/.netrc never read; proxies come from Network
    assert http.session.max_redirects == 5
    adapter = http.session.get_adapter("http://x")
    assert adapter._pool_maxsize == 4  # type: ignore[attr-defined]
    http.close()
