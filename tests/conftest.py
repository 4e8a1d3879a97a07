"""Suite-wide fixtures.

* The official ``qiniu`` SDK caches regions under ``tempfile.gettempdir()`` at import time, so
  a private TMPDIR is set here, before any test module imports it. pytest's ``tmp_path``
  folders live under it too, and the whole folder is removed when the session ends (a full run
  writes about 2 GB of emulator data; set ``KODO_JOBS_KEEP_TEST_TMP=1`` to keep it).
* An autouse guard makes every outgoing connection to a non-loopback address fail: no test
  may ever reach Qiniu's real hosts (or anything else off this machine).
* Fixture modules live in ``tests/fixtures/`` (one per part, each owned by that part).
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

_PRIVATE_TMP = tempfile.mkdtemp(prefix="kodo-jobs-tests-")
os.environ["TMPDIR"] = _PRIVATE_TMP
tempfile.tempdir = None  # recompute from TMPDIR

pytest_plugins = [
    "tests.fixtures.emulator",
]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the private temp folder's contents (every ``tmp_path``) unless asked to keep them.

    ``pymp-*`` folders belong to multiprocessing, whose own exit handler removes them (and fails
    loudly if they are gone); the folder itself is removed by :func:`_remove_private_tmp`.
    """
    if os.environ.get("KODO_JOBS_KEEP_TEST_TMP") == "1":
        return
    for entry in os.scandir(_PRIVATE_TMP):
        if not entry.name.startswith("pymp-"):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


@atexit.register  # registered before multiprocessing's handler, so it runs after it
def _remove_private_tmp() -> None:
    if os.environ.get("KODO_JOBS_KEEP_TEST_TMP") != "1":
        shutil.rmtree(_PRIVATE_TMP, ignore_errors=True)


def _is_loopback(host: Any) -> bool:
    if not isinstance(host, str):
        return True  # AF_UNIX paths and the like
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost: refuse rather than resolve


class NonLoopbackConnection(AssertionError):
    """A test tried to open a connection to an address off this machine."""


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if isinstance(address, tuple) and not _is_loopback(address[0]):
        raise NonLoopbackConnection(f"test tried to connect to {address!r}: only loopback is allowed")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if isinstance(address, tuple) and not _is_loopback(address[0]):
        raise NonLoopbackConnection(f"test tried to connect to {address!r}: only loopback is allowed")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, bytes):
        host = host.decode()
    if host is not None and not _is_loopback(host):
        raise NonLoopbackConnection(f"test tried to resolve {host!r}: only loopback is allowed")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _only_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    yield


@pytest.fixture(autouse=True)
def _own_secret_redactor() -> Iterator[None]:
    """Each test registers secrets into its own redactor (kodo_jobs.log.redaction), as each CLI
    command does: a secret registered by one test never masks the next test's output."""
    from kodo_jobs.log import redaction

    with redaction():
        yield
