"""A request reaches a worker thread only once its whole header block has arrived.

Why: cheroot hands a connection to one of its worker threads as soon as it is accepted or
readable, and the worker then blocks reading the request line and headers (up to the socket
timeout, 60 s). Thirty clients that connect and send half a header, or nothing, held all 24
workers, and a normal request waited for them. Here the worker takes only what the socket
already holds (``poll`` with no wait); while the header block (up to the blank line) is
incomplete, the connection goes back to cheroot's selector, where it costs a file descriptor,
not a thread. A header block still incomplete :data:`HEADER_TIMEOUT` seconds after the
connection opened (or after the first byte of a later request on it) is closed without an
answer, as nginx does for ``client_header_timeout``.

Also here: a ``Content-Length`` that is not plain digits (``-1``, ``+5``) or that comes with
``Transfer-Encoding`` is answered 400 at once and the connection closed (cheroot accepted
``-1`` and then read the socket until it timed out).

Plain sockets only: a TLS connection keeps cheroot's own reader and behaviour.
"""

from __future__ import annotations

import select
import time
from typing import Any

from cheroot.makefile import MakeFile

from kodo_jobs.emulator.sockio import SocketReader, SocketWriter
from kodo_jobs.emulator.wire import CoalescingConnection, CoalescingRequest

HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a request's whole header block (the server's ``header_timeout``
attribute overrides it)."""
MAX_HEAD = 64 * 1024
"""A header block still incomplete at this size is not a request: the connection is closed."""
_END = b"\r\n\r\n"


class GatedReader(SocketReader):
    """:class:`SocketReader` that knows whether a whole header block is buffered."""

    def head_complete(self) -> bool:
        """Whether the buffer holds a request's whole header block."""
        return self._buf.find(_END, self._pos) >= 0

    def buffered(self) -> int:
        """Bytes buffered and not yet consumed."""
        return len(self._buf) - self._pos

    def has_data(self) -> bool:
        """cheroot dispatches a kept-alive connection at once only when this is true: a
        partial next request waits in the selector for the rest instead."""
        return self.head_complete()

    def fill_available(self) -> bool:
        """Append what the socket holds right now, without waiting; False when the peer has
        closed the connection."""
        poller = select.poll()  # poll, not select: select fails above fd 1023
        poller.register(self._sock, select.POLLIN)
        if not poller.poll(0):
            return True
        return self._fill()


def _make_file(sock: Any, mode: str = "r", bufsize: int = 0) -> GatedReader | SocketWriter:
    return GatedReader(sock, bufsize) if "r" in mode else SocketWriter(sock)


class GatedRequest(CoalescingRequest):
    """Refuses a malformed ``Content-Length`` before anything reads the body."""

    def read_request_headers(self) -> bool:
        if not super().read_request_headers():  # type: ignore[no-untyped-call]
            return False
        length = self.inheaders.get(b"Content-Length")
        if length is None:
            return True
        if not length.isdigit():
            self.simple_response("400 Bad Request", "Content-Length must be a decimal number of bytes")
        elif self.inheaders.get(b"Transfer-Encoding"):
            self.simple_response("400 Bad Request", "Content-Length and Transfer-Encoding together")
        else:
            return True
        self.close_connection = True
        return False


class GatedConnection(CoalescingConnection):
    """See the module docstring."""

    RequestHandlerClass: Any = GatedRequest

    def __init__(self, server: Any, sock: Any, makefile: Any = MakeFile) -> None:
        super().__init__(server, sock, _make_file if makefile is MakeFile else makefile)
        self._head_since: float | None = time.time()
        """When the request now being received started (None between requests)."""
        self._used = 0.0

    @property
    def last_used(self) -> float:
        """cheroot closes connections whose ``last_used`` is older than its timeout; a header
        block in progress ages from its start and expires after :data:`HEADER_TIMEOUT`."""
        if self._head_since is None:
            return self._used
        server_timeout = float(getattr(self.server, "timeout", 60))
        return min(self._used, self._head_since + self._header_timeout() - server_timeout)

    @last_used.setter
    def last_used(self, value: float) -> None:
        self._used = value

    def _header_timeout(self) -> float:
        return float(getattr(self.server, "header_timeout", HEADER_TIMEOUT))

    def communicate(self) -> bool:
        rfile = self.rfile
        if not isinstance(rfile, GatedReader):
            return bool(super().communicate())  # type: ignore[no-untyped-call]
        if not rfile.head_complete():
            try:
                if not rfile.fill_available():
                    return False  # the client closed the connection
            except OSError:
                return False
            if not rfile.head_complete():
                now = time.time()
                if rfile.buffered() == 0 and self._head_since is None:
                    return True  # idle between requests: cheroot's keep-alive timeout applies
                if self._head_since is None:
                    self._head_since = now
                expired = now - self._head_since > self._header_timeout()
                return not (expired or rfile.buffered() > MAX_HEAD)  # else back to the selector
        self._head_since = None
        keep = bool(super().communicate())  # type: ignore[no-untyped-call]
        if keep and rfile.buffered():
            self._head_since = time.time()  # part of a pipelined request is already here
        return keep
