"""Small helpers shared by the emulator tests (signed raw requests, SDK settings)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import qiniu
import requests
from qiniu import config as qconfig
from qiniu.auth import QiniuMacRequestsAuth

from kodo_jobs.emulator.server import RunningEmulator


def entry(bucket: str, key: str) -> str:
    """EncodedEntryURI, as the SDK builds it."""
    return str(qiniu.utils.entry(bucket, key))


def mgmt(emulator: RunningEmulator, method: str, path: str, *, secret_key: str | None = None,
         **kwargs: Any) -> requests.Response:
    """A Qiniu-signed management request (``secret_key`` overrides the emulator's, to forge one)."""
    auth = qiniu.QiniuMacAuth(emulator.config.access_key, secret_key or emulator.config.secret_key)
    kwargs.setdefault("headers", {}).setdefault("Content-Type", "application/x-www-form-urlencoded")
    return requests.request(method, emulator.url + path, auth=QiniuMacRequestsAuth(auth), timeout=30, **kwargs)


def up_token(emulator: RunningEmulator, bucket: str, key: str | None = None, expires: int = 3600,
             policy: dict[str, Any] | None = None, secret_key: str | None = None, strict: bool = True) -> str:
    """An upload token signed by the emulator's key (or a forged one); ``strict=False`` keeps
    policy fields the SDK's whitelist would drop (e.g. trafficLimit)."""
    auth = qiniu.Auth(emulator.config.access_key, secret_key or emulator.config.secret_key)
    return str(auth.upload_token(bucket, key, expires, policy, strict_policy=strict))


@contextmanager
def sdk_config_restored() -> Iterator[None]:
    """Snapshot the SDK's process-global settings and put them back afterwards."""
    saved = copy.deepcopy(qconfig._config)
    customized = dict(qconfig._is_customized_default)
    try:
        yield
    finally:
        qconfig._config.clear()
        qconfig._config.update(saved)
        qconfig._is_customized_default.clear()
        qconfig._is_customized_default.update(customized)


@contextmanager
def upload_threshold(value: int) -> Iterator[None]:
    """Temporarily lower the SDK's form/resumable threshold (process-global setting)."""
    previous = qconfig.get_default("default_upload_threshold")
    qconfig.set_default(default_upload_threshold=value)
    try:
        yield
    finally:
        qconfig.set_default(default_upload_threshold=previous)


def error_of(resp: requests.Response) -> tuple[int, str]:
    """(status, error message) of a Kodo error answer; asserts the X-Reqid header is there."""
    assert resp.headers.get("X-Reqid"), "every answer must carry X-Reqid"
    return resp.status_code, resp.json().get("error", "")
