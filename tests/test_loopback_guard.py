"""The suite-wide guard refuses any connection that leaves the machine."""

from __future__ import annotations

import socket

import pytest
import requests

from tests.conftest import NonLoopbackConnection


def test_non_loopback_connect_is_refused() -> None:
    s = socket.socket()
    try:
        with pytest.raises(NonLoopbackConnection):
            s.connect(("203.0.113.7", 80))
    finally:
        s.close()


def test_qiniu_host_name_is_refused() -> None:
    with pytest.raises((NonLoopbackConnection, requests.exceptions.ConnectionError)):
        requests.get("http://rs-z0.qiniuapi.com/stat/x", timeout=1)


def test_loopback_is_allowed() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    c = socket.socket()
    try:
        c.connect(srv.getsockname())
    finally:
        c.close()
        srv.close()
