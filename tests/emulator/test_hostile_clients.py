"""Hostile or broken clients (issue 15 item 4): every body is capped (chunked ones too), a form
upload's token is checked before its file is spooled, slow or half-sent headers hold no
worker, a bad Content-Length is answered 400 at once, and the default keys are refused on a
non-loopback address.

No timing assertions: a request must *succeed* within a generous client timeout while the
hostile connections are held (before the fixes it could not, for a minute)."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import qiniu
import requests
from qiniu.utils import etag_stream

from kodo_jobs.emulator import bodies, limits
from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator.helpers import up_token
from tests.fixtures.emulator import sdk_for

B = "test-bucket"
MiB = 1024 * 1024


def _connect(emulator: RunningEmulator) -> socket.socket:
    sock = socket.create_connection((emulator.host, emulator.port), timeout=30)
    return sock


def _read_status(sock: socket.socket) -> str:
    data = b""
    while b"\r\n" not in data:
        piece = sock.recv(4096)
        if not piece:
            break
        data += piece
    return data.split(b"\r\n", 1)[0].decode("latin-1")


@contextmanager
def _send_in_background(sock: socket.socket, pieces: Iterator[bytes]) -> Iterator[None]:
    """Send while the test reads the answer (the server may answer before the body ends)."""
    def run() -> None:
        try:
            for piece in pieces:
                sock.sendall(piece)
        except OSError:
            pass  # the server stopped reading: that is what some tests expect
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(timeout=60)


def _chunked(total: int, piece: bytes = b"x" * MiB) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        data = piece[: total - sent]
        yield f"{len(data):x}\r\n".encode() + data + b"\r\n"
        sent += len(data)
    yield b"0\r\n\r\n"


# -- bodies ---------------------------------------------------------------------------------
def test_chunked_management_body_is_capped(emulator: RunningEmulator) -> None:
    sock = _connect(emulator)
    head = (b"POST /batch HTTP/1.1\r\nHost: h\r\nAuthorization: QBox test-ak:forged\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n")
    with sock, _send_in_background(sock, iter([head, *_chunked(limits.MAX_SIGNED_BODY + 2 * MiB)])):
        assert _read_status(sock).startswith("HTTP/1.1 413 ")


def test_management_content_length_over_the_cap_is_413_at_once(emulator: RunningEmulator) -> None:
    sock = _connect(emulator)
    with sock:
        sock.sendall(b"POST /batch HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     + f"Content-Length: {limits.MAX_SIGNED_BODY + 1}\r\n\r\n".encode())
        assert _read_status(sock).startswith("HTTP/1.1 413 ")


@pytest.mark.parametrize("value", [b"-1", b"+5", b"1e3", b"0x10", b"5, 5", b" "])
def test_bad_content_length_is_400_at_once(emulator: RunningEmulator, value: bytes) -> None:
    sock = _connect(emulator)
    with sock:
        sock.sendall(b"POST /batch HTTP/1.1\r\nHost: h\r\nContent-Length: " + value + b"\r\n\r\nabcde")
        assert _read_status(sock).startswith("HTTP/1.1 400 ")


def test_content_length_with_chunked_is_400(emulator: RunningEmulator) -> None:
    sock = _connect(emulator)
    with sock:
        sock.sendall(b"POST /batch HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"0\r\n\r\n")
        assert _read_status(sock).startswith("HTTP/1.1 400 ")


def _multipart(fields: list[tuple[str, bytes]], boundary: str = "b0undary") -> tuple[bytes, bytes]:
    """(head, tail) of a form whose last field is the file; the file bytes go between."""
    out = b""
    for name, value in fields:
        out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n".encode() + value + b"\r\n"
    out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return out, f"\r\n--{boundary}--\r\n".encode()


class _Spools:
    """Counts temp files opened for a form's file part."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = bodies.HashingFile.__init__

        def counting(this: Any, path: Path) -> None:
            self.count += 1
            original(this, path)
        monkeypatch.setattr(bodies.HashingFile, "__init__", counting)


def test_form_with_a_bad_token_first_spools_nothing(emulator: RunningEmulator,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    spools = _Spools(monkeypatch)
    head, tail = _multipart([("token", b"test-ak:forged:eyJ9"), ("key", b"k")])
    body = head + b"z" * (12 * MiB) + tail
    resp = requests.post(emulator.url + "/", data=body, timeout=60,
                         headers={"Content-Type": "multipart/form-data; boundary=b0undary"})
    assert resp.status_code == 401, resp.text
    assert spools.count == 0
    assert not emulator.store.exists(B, "k")


def test_form_with_an_expired_token_first_spools_nothing(emulator: RunningEmulator,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    spools = _Spools(monkeypatch)
    token = up_token(emulator, B, "k", expires=-60)
    head, tail = _multipart([("token", token.encode()), ("key", b"k")])
    resp = requests.post(emulator.url + "/", data=head + b"z" * (12 * MiB) + tail, timeout=60,
                         headers={"Content-Type": "multipart/form-data; boundary=b0undary"})
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"] == "token out of date"
    assert spools.count == 0


def test_form_with_the_token_after_the_file_is_still_checked(emulator: RunningEmulator) -> None:
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nlate\r\n".encode()
            + f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n".encode()
            + b"z" * (6 * MiB)
            + f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n".encode()
            + up_token(emulator, B, "late").encode() + f"\r\n--{boundary}--\r\n".encode())
    resp = requests.post(emulator.url + "/", data=body + b"", timeout=60,
                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["key"] == "late"


def test_large_valid_form_upload_still_works(emulator: RunningEmulator) -> None:
    data = bytes(range(256)) * (40 * 1024)  # 10 MiB: the streamed path
    auth, _ = sdk_for(emulator)
    ret, info = qiniu.put_data(auth.upload_token(B, "big"), "big", data)
    assert info.status_code == 200, info
    assert ret["hash"] == etag_stream(io.BytesIO(data))


def test_form_file_over_kodos_limit_is_413(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "FORM_FILE_MAX", 8 * MiB)  # Kodo's 1 GiB, scaled down for the test
    spools = _Spools(monkeypatch)
    head, tail = _multipart([("token", up_token(emulator, B, "huge").encode()), ("key", b"huge")])
    resp = requests.post(emulator.url + "/", data=head + b"z" * (9 * MiB) + tail, timeout=60,
                         headers={"Content-Type": "multipart/form-data; boundary=b0undary"})
    assert resp.status_code == 413, resp.text
    assert not emulator.store.exists(B, "huge")
    # chunked: no length announced, the cap still holds
    sock = _connect(emulator)
    pieces = [b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=b0undary\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n", f"{len(head):x}\r\n".encode() + head + b"\r\n",
              *list(_chunked(9 * MiB))[:-1], f"{len(tail):x}\r\n".encode() + tail + b"\r\n0\r\n\r\n"]
    with sock, _send_in_background(sock, iter(pieces)):
        assert _read_status(sock).startswith("HTTP/1.1 413 ")
    assert not emulator.store.exists(B, "huge")
    assert spools.count == 1  # only the chunked one spooled (up to the cap), and it was removed
    assert not any(emulator.store.db.tmp_dir.iterdir())


# -- slow headers ---------------------------------------------------------------------------
def test_a_request_succeeds_while_30_half_open_connections_are_held(emulator: RunningEmulator) -> None:
    held = []
    try:
        for i in range(30):
            sock = _connect(emulator)
            if i % 2:
                sock.sendall(b"POST /batch HTTP/1.1\r\nHost: h\r\nContent-Le")  # half-sent headers
            held.append(sock)
        # 24 workers: before the fix all of them sat in a header read for a minute
        resp = requests.get(emulator.url + "/_emulator/stats", timeout=20)
        assert resp.status_code == 200
        auth, bm = sdk_for(emulator)
        assert qiniu.put_data(auth.upload_token(B, "ok"), "ok", b"ok")[1].status_code == 200
    finally:
        for sock in held:
            sock.close()


def test_slow_headers_are_cut_off(emulator_factory: Any) -> None:
    emulator = emulator_factory(header_timeout=0.5)
    sock = _connect(emulator)
    with sock:
        sock.sendall(b"GET /_emulator/stats HTTP/1.1\r\nHost: h\r\n")
        sock.settimeout(30)
        try:
            rest = sock.recv(4096)
        except ConnectionResetError:
            rest = b""
        assert rest == b""  # closed by the server, nothing answered to half a request


def test_headers_sent_in_pieces_within_the_limit_are_served(emulator: RunningEmulator) -> None:
    sock = _connect(emulator)
    with sock:
        for piece in (b"GET /_emulator/st", b"ats HTTP/1.1\r\nHo", b"st: h\r\n", b"\r\n"):
            sock.sendall(piece)
        assert _read_status(sock) == "HTTP/1.1 200 OK"


# -- default keys on a public address -------------------------------------------------------
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.invalid"])
def test_default_keys_are_refused_off_loopback(tmp_path: Path, host: str) -> None:
    res = subprocess.run([sys.executable, "-m", "kodo_jobs", "emulator", "--host", host, "--port", "0",
                          "--data", str(tmp_path / "d")], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res.stderr
    assert res.stdout == ""
    assert "--secret-key" in res.stderr and host in res.stderr
    assert not (tmp_path / "d").exists()  # refused before anything was created


def test_default_keys_are_fine_on_loopback(tmp_path: Path) -> None:
    from kodo_jobs.commands.emulator import check_exposure

    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        check_exposure(host, "kodo-jobs-sk")  # no exception
