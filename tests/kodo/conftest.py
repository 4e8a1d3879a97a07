"""Helpers for the client tests: a client bound to the emulator and a request recorder."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from kodo_jobs.kodo import KodoClient


class Recorder:
    """Records ``(method, path)`` of every response the client's session receives, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        req = resp.request
        self.calls.append((req.method or "", urlsplit(req.url or "").path))

    def paths(self, prefix: str = "") -> list[str]:
        return [f"{m} {p}" for m, p in self.calls if p.startswith(prefix)]

    def clear(self) -> None:
        self.calls.clear()


def make_client(url: str, **kw: Any) -> tuple[KodoClient, Recorder]:
    client = KodoClient.for_endpoint(url, "test-ak", "test-sk", **kw)
    rec = Recorder()
    client.http.session.hooks["response"].append(rec)
    return client, rec


@pytest.fixture
def kodo(emulator: Any) -> Iterator[tuple[KodoClient, Recorder]]:
    client, rec = make_client(emulator.url)
    yield client, rec
    client.close()
