"""cheroot, one send per small answer: the status line and headers leave with the first body
chunk instead of in a ``send`` of their own.

Why: cheroot writes the headers and then every body chunk unbuffered, so a small JSON answer
cost two ``send`` calls (two TCP segments, two wake-ups of the client); on loopback a send is
a real share of a small request's emulator CPU (figures: docs/bench.md). Bytes on the wire are
unchanged.
Chunked answers (no Content-Length) and large first chunks are sent as cheroot does.

The connection also reads and writes through :mod:`kodo_jobs.emulator.sockio` instead of
cheroot's pure-Python buffered files.
"""

from __future__ import annotations

from typing import Any

from cheroot.makefile import MakeFile
from cheroot.server import HTTPConnection, HTTPRequest

from kodo_jobs.emulator.sockio import make_file

COALESCE_MAX = 64 * 1024  # a first chunk up to this is copied behind the headers; larger goes alone


class _Capture:
    """Stands in for the connection's writer while cheroot renders the headers."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)


class CoalescingRequest(HTTPRequest):
    """``HTTPRequest`` that holds the rendered headers until the first body write."""

    _held: bytes | None = None

    def send_headers(self) -> None:
        wfile = self.conn.wfile
        capture = _Capture()
        self.conn.wfile = capture
        try:
            super().send_headers()
        finally:
            self.conn.wfile = wfile
        if self.chunked_write:  # cheroot writes the terminating chunk itself: keep its order
            wfile.write(capture.data)
        else:
            self._held = capture.data

    def _release(self) -> bytes:
        held, self._held = self._held, None
        return held or b""

    def write(self, chunk: bytes) -> None:
        if self._held is not None:
            held = self._release()
            if chunk and len(chunk) <= COALESCE_MAX:
                self.conn.wfile.write(held + bytes(chunk))
                return
            self.conn.wfile.write(held)
        super().write(chunk)

    def respond(self) -> None:
        try:
            super().respond()
        finally:
            if self._held is not None:  # an answer without body bytes (HEAD, 204, empty body)
                self.conn.wfile.write(self._release())


class CoalescingConnection(HTTPConnection):
    """``HTTPConnection`` whose requests are ``CoalescingRequest``, over ``sockio`` files."""

    RequestHandlerClass: Any = CoalescingRequest

    def __init__(self, server: Any, sock: Any, makefile: Any = MakeFile) -> None:
        super().__init__(server, sock, make_file if makefile is MakeFile else makefile)
