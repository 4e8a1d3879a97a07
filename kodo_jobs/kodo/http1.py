"""A minimal HTTP/1.1 client for plain ``http://`` hosts: keep-alive sockets, one request each.

Why it exists: a fresh sync of small files is one short POST per file, and the client CPU per
request was the part of the run we could still cut. Through urllib3 such a request cost about
300 us of CPU (``http.client`` builds the request line by line and parses response headers with
the ``email`` package); written as one buffer and parsed with ``readline`` it costs about 95 us
(``bench`` scenario ``fresh-sync``; the measurement is in docs/bench.md). The HTTP seam
(:mod:`kodo_jobs.kodo.http`) uses this for ``http://`` bases only. ``https://`` stays on urllib3,
whose certificate handling we do not want to re-implement, and so do bodies of unknown length
(those need chunked encoding).

What it speaks, deliberately little: a request line, the caller's headers plus ``Host``,
``Accept-Encoding: identity`` and ``Content-Length`` (the seam always gives one), then the body.
Responses: a status line, headers, then a body framed by ``Content-Length``, by chunked encoding
or by the end of the connection; 1xx interim answers are skipped; a ``gzip``/``deflate``
``Content-Encoding`` is decoded even though identity was asked for. A connection goes back to
the pool only after a complete answer that did not say ``Connection: close``; any error closes it.

Idle connections are checked before reuse (a server may close them at any time). A request sent
on a reused connection that the server had closed meanwhile fails before any answer byte
arrives; it is sent once more on a new connection when its body can be sent again (bytes, or a
re-iterable body such as a ``MultipartBody``) and either the connection broke while the request was
being written or the method is idempotent (see :data:`_IDEMPOTENT`).
"""

from __future__ import annotations

import select
import socket
import threading
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

MAX_LINE = 65536
"""Longest status or header line accepted."""
MAX_HEADERS = 200
"""Most header lines accepted in one answer."""
SMALL_BODY = 64 * 1024
"""Bodies up to this size go out in the same send as the request head."""
_FILE_BLOCK = 1024 * 1024
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
"""Methods sent again when a reused connection ends before any answer byte; others (POST) are
sent again only when the connection broke while they were being written (the server never
read them), so a POST that may have been carried out is left to the caller's retry policy."""


class Http1Error(Exception):
    """The connection failed or the answer was not HTTP/1.x: the request got no answer."""


class Http1Timeout(Http1Error):
    """Connecting (``kind="ConnectTimeout"``) or waiting for the answer (``"ReadTimeout"``) took too long."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Http1Refused(Http1Error):
    """No connection could be made (refused, unreachable, name not resolved)."""


class _NoAnswer(Http1Error):
    """The server closed the connection before the first byte of an answer."""


class Headers(Mapping[str, str]):
    """Response headers: case-insensitive lookup, names as sent, repeated names joined by ", "."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, str]] = {}

    def add(self, name: str, value: str) -> None:
        """Record one header line."""
        lower = name.lower()
        found = self._items.get(lower)
        self._items[lower] = (name, value) if found is None else (found[0], f"{found[1]}, {value}")

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def get(self, name: str, default: Any = None) -> Any:  # noqa: D102 - Mapping.get, without the KeyError round trip
        found = self._items.get(name.lower())
        return default if found is None else found[1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


class _Connection:
    __slots__ = ("reader", "sock", "timeout")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = sock.makefile("rb", buffering=65536)
        self.timeout: float | None = sock.gettimeout()

    def set_timeout(self, seconds: float | None) -> None:
        if seconds != self.timeout:
            self.sock.settimeout(seconds)
            self.timeout = seconds

    def dropped(self) -> bool:
        """True when the idle socket has something to read: the server's close (or junk)."""
        poller = select.poll()  # not select(): it fails on descriptors above 1023
        try:
            poller.register(self.sock, select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()


class Http1Pool:
    """Keep-alive connections to one ``host:port``; at most ``maxsize`` kept idle. Thread-safe."""

    def __init__(self, host: str, port: int | None, maxsize: int, *, host_header: str | None = None) -> None:
        self.host = host
        self.port = port or 80
        self.maxsize = maxsize
        bracketed = f"[{host}]" if ":" in host else host
        self.host_header = host_header or (bracketed if self.port == 80 else f"{bracketed}:{self.port}")
        """``Host`` as the signers saw it: the base URL's own spelling (``host:80`` stays so)."""
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self.connections_made = 0
        """Connections opened so far (tests count reuse)."""

    def close(self) -> None:
        """Close the idle connections (requests in flight close theirs when done)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _take(self) -> _Connection | None:
        while True:
            with self._lock:
                if not self._idle:
                    return None
                conn = self._idle.pop()
            if not conn.dropped():
                return conn
            conn.close()

    def _give(self, conn: _Connection) -> None:
        with self._lock:
            if len(self._idle) < self.maxsize:
                self._idle.append(conn)
                return
        conn.close()

    def _connect(self, timeout: float | None) -> _Connection:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except TimeoutError as exc:
            raise Http1Timeout("ConnectTimeout") from exc
        except OSError as exc:
            raise Http1Refused(str(exc)) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections_made += 1
        return _Connection(sock)

    def request(self, method: str, target: str, headers: Mapping[str, str], body: Any, *,
                connect_timeout: float | None, read_timeout: float | None) -> tuple[int, Headers, bytes]:
        """Send one request and read its whole answer: ``(status, headers, content)``.

        ``body`` is None, bytes-like, a file object or an iterable of bytes; ``headers`` must
        carry its ``Content-Length``. Raises :class:`Http1Error` (or one of its kinds) when no
        answer came; exceptions from the body's own iterator (a source file that shrank) pass
        through unchanged. Either way the connection is closed.
        """
        head = _request_head(method, target, self.host_header, headers)
        resendable = body is None or isinstance(body, (bytes, bytearray, memoryview)) or (
            hasattr(body, "__iter__") and not hasattr(body, "__next__") and not hasattr(body, "read"))
        conn = self._take()
        if conn is not None:
            try:
                return self._exchange(conn, method, head, body, read_timeout)
            except _NoAnswer:
                if not resendable:
                    raise
            # the server had closed this idle connection: once more on a new one
        conn = self._connect(connect_timeout)
        return self._exchange(conn, method, head, body, read_timeout)

    def _exchange(self, conn: _Connection, method: str, head: bytes, body: Any,
                  read_timeout: float | None) -> tuple[int, Headers, bytes]:
        sent = False
        try:
            conn.set_timeout(read_timeout)
            _send(conn.sock, head, body)
            sent = True
            status, headers, content, keep = _read_answer(conn.reader, method)
        except TimeoutError as exc:
            conn.close()
            raise Http1Timeout("ReadTimeout") from exc
        except _NoAnswer:
            conn.close()
            if method in _IDEMPOTENT:
                raise
            raise Http1Error("connection closed before an answer") from None
        except (BrokenPipeError, ConnectionResetError) as exc:
            conn.close()
            if not sent:  # the server had closed it: it never saw this request
                raise _NoAnswer(f"connection closed: {exc}") from exc
            raise Http1Error(f"connection closed: {exc}") from exc
        except OSError as exc:
            conn.close()
            raise Http1Error(str(exc)) from exc
        except BaseException:
            conn.close()
            raise
        if keep:
            self._give(conn)
        else:
            conn.close()
        return status, headers, content


def _request_head(method: str, target: str, host_header: str, headers: Mapping[str, str]) -> bytes:
    """The request line and header block, refusing what would split it (CR/LF, spaces in the target)."""
    if any(c in target for c in " \r\n\t") or not method.isalpha():
        raise ValueError(f"cannot send {method!r} {target!r}: not a valid request line")
    lines = [f"{method} {target} HTTP/1.1"]
    lower = {name.lower() for name in headers}
    if "host" not in lower:
        lines.append(f"Host: {host_header}")
    if "accept-encoding" not in lower:
        lines.append("Accept-Encoding: identity")
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise ValueError(f"invalid header {name!r}")
        lines.append(f"{name}: {value}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")


def _send(sock: socket.socket, head: bytes, body: Any) -> None:
    if body is None:
        sock.sendall(head)
    elif isinstance(body, (bytes, bytearray, memoryview)):
        if len(body) <= SMALL_BODY:
            sock.sendall(head + bytes(body))
        else:
            sock.sendall(head)
            sock.sendall(body)
    elif hasattr(body, "read"):
        sock.sendall(head)
        while block := body.read(_FILE_BLOCK):
            sock.sendall(block.encode("utf-8") if isinstance(block, str) else block)
    else:
        sock.sendall(head)
        for chunk in body:
            if chunk:
                sock.sendall(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)


def _read_answer(reader: Any, method: str) -> tuple[int, Headers, bytes, bool]:
    """Status, headers, decoded content and whether the connection may be reused."""
    first = True
    while True:
        line = reader.readline(MAX_LINE + 1)
        if not line:
            if first:
                raise _NoAnswer("connection closed before an answer")
            raise Http1Error("connection closed inside the answer")
        first = False
        version, status = _status_line(line)
        headers = _read_headers(reader)
        if not 100 <= status < 200:
            break
    keep = version == "HTTP/1.1"
    connection = (headers.get("connection") or "").lower()
    if "close" in connection:
        keep = False
    elif version == "HTTP/1.0" and "keep-alive" in connection:
        keep = True
    if method == "HEAD" or status in (204, 304):
        return status, headers, b"", keep
    if "chunked" in (headers.get("transfer-encoding") or "").lower():
        content = _read_chunked(reader)
    elif (length := headers.get("content-length")) is not None:
        try:
            size = int(length)
        except ValueError:
            raise Http1Error(f"bad Content-Length {length!r}") from None
        content = reader.read(size) if size > 0 else b""
        if len(content) != size:
            raise Http1Error(f"answer cut short: {len(content)} of {size} bytes")
    else:
        content = reader.read()
        keep = False
    encoding = (headers.get("content-encoding") or "").lower().strip()
    if encoding in ("gzip", "x-gzip", "deflate") and content:
        try:
            content = zlib.decompress(content, 47 if encoding != "deflate" else zlib.MAX_WBITS)
        except zlib.error as exc:
            raise Http1Error(f"cannot decode a {encoding} answer: {exc}") from exc
    return status, headers, content, keep


def _status_line(line: bytes) -> tuple[str, int]:
    if len(line) > MAX_LINE:
        raise Http1Error("status line too long")
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise Http1Error(f"not an HTTP/1.x answer: {line[:40]!r}")
    try:
        return parts[0].decode("ascii"), int(parts[1])
    except (ValueError, UnicodeDecodeError):
        raise Http1Error(f"bad status line: {line[:40]!r}") from None


def _read_headers(reader: Any) -> Headers:
    headers = Headers()
    for _ in range(MAX_HEADERS + 1):
        line = reader.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise Http1Error("connection closed inside the answer's headers")
        if len(line) > MAX_LINE:
            raise Http1Error("header line too long")
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise Http1Error(f"bad header line: {line[:40]!r}")
        headers.add(name.strip(), value.strip())
    raise Http1Error("too many header lines")


def _read_chunked(reader: Any) -> bytes:
    pieces: list[bytes] = []
    while True:
        line = reader.readline(MAX_LINE + 1)
        if not line:
            raise Http1Error("connection closed inside a chunked answer")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise Http1Error(f"bad chunk size line: {line[:40]!r}") from None
        if size == 0:
            break
        piece = reader.read(size)
        if len(piece) != size or reader.readline(MAX_LINE + 1) not in (b"\r\n", b"\n"):
            raise Http1Error("chunked answer cut short")
        pieces.append(piece)
    while True:  # trailers, then the blank line
        line = reader.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n", b""):
            return b"".join(pieces)
