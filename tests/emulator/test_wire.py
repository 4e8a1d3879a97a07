"""Headers leave with the first body chunk (``emulator.wire``): answers must stay well-formed
HTTP/1.1 on one keep-alive connection, with and without a body, small and large."""

from __future__ import annotations

import http.client
import io

from kodo_jobs.emulator.server import RunningEmulator

B = "test-bucket"


def _put(emulator: RunningEmulator, key: str, data: bytes) -> None:
    emulator.store.put_object(B, key, io.BytesIO(data), mime="application/x-test", fsize=len(data), hash="h")


def test_keep_alive_sequence_of_answers(emulator: RunningEmulator) -> None:
    big = bytes(range(256)) * 1024 + b"tail"  # 256 KiB + 4: larger than one coalesced chunk
    _put(emulator, "small", b"hello")
    _put(emulator, "big", big)
    conn = http.client.HTTPConnection(emulator.host, emulator.port, timeout=30)
    try:
        for _ in range(2):
            conn.request("GET", "/no/such/route")
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 404
            assert resp.getheader("X-Reqid") and resp.getheader("Content-Type") == "application/json"
            assert int(resp.getheader("Content-Length") or -1) == len(body) and b"error" in body

            conn.request("GET", f"/dl/{B}/small")
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b"hello")
            etag = resp.getheader("ETag")

            conn.request("HEAD", f"/dl/{B}/small")
            resp = conn.getresponse()
            assert (resp.status, resp.read(), resp.getheader("Content-Length")) == (200, b"", "5")

            conn.request("GET", f"/dl/{B}/small", headers={"If-None-Match": etag or ""})
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (304, b"")

            conn.request("GET", f"/dl/{B}/big")
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.read() == big

            conn.request("GET", f"/dl/{B}/big", headers={"Range": "bytes=10-19"})
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (206, big[10:20])
    finally:
        conn.close()
