"""Socket reader and writer for cheroot connections, with C-speed line splitting.

cheroot reads requests through ``_pyio.BufferedReader`` subclasses (its ``makefile`` module
imports the pure-Python ``io`` on purpose, for a ``has_data()`` that peeks at the buffer), and
writes through a ``_pyio.BufferedWriter`` that copies each answer once more. On a fresh sync of
small files, a profile of the emulator put a large share of its CPU in those classes: every
request line and header line goes through several Python-level calls per line.

:class:`SocketReader` keeps its own ``bytearray`` and splits lines with ``bytearray.find`` (one
C call per line), reads large bodies straight into the result, and answers ``has_data()`` from
its buffer. :class:`SocketWriter` hands each write to ``socket.sendall``. Both count bytes as
cheroot's classes do (``bytes_read``, ``bytes_written``: its statistics read them).
``wire.CoalescingConnection`` uses them for plain sockets (a TLS adapter's ``makefile`` is left
alone). figures: docs/bench.md

Timeouts and socket errors surface exactly as from ``socket.SocketIO``: ``TimeoutError`` and
``OSError`` from ``recv``/``sendall``, which cheroot already handles.
"""

from __future__ import annotations

import socket

BUFSIZE = 64 * 1024
"""Bytes asked of the kernel per ``recv`` (cheroot's default buffer is 8 KiB)."""


class SocketReader:
    """Buffered, line-aware reads from a socket (the subset of a binary file cheroot uses)."""

    def __init__(self, sock: socket.socket, bufsize: int = BUFSIZE) -> None:
        self._sock = sock
        self._bufsize = max(bufsize, BUFSIZE)
        self._buf = bytearray()
        self._pos = 0
        self.bytes_read = 0
        self.closed = False

    def has_data(self) -> bool:
        """True when bytes are buffered (a pipelined request), without touching the socket."""
        return len(self._buf) > self._pos

    def _fill(self) -> bool:
        """Append one ``recv``'s worth to the buffer; False at the end of the stream."""
        data = self._sock.recv(self._bufsize)
        if not data:
            return False
        if self._pos:
            del self._buf[:self._pos]
            self._pos = 0
        self._buf += data
        return True

    def _take(self, end: int) -> bytes:
        out = bytes(self._buf[self._pos:end])
        self._pos = end
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        self.bytes_read += len(out)
        return out

    def readline(self, size: int | None = -1) -> bytes:
        """Up to and including the next ``\\n``, at most ``size`` bytes (negative: no limit)."""
        limit = -1 if size is None else size
        while True:
            newline = self._buf.find(b"\n", self._pos)
            if newline >= 0:
                end = newline + 1
                if 0 <= limit < end - self._pos:
                    end = self._pos + limit
                return self._take(end)
            if 0 <= limit <= len(self._buf) - self._pos:
                return self._take(self._pos + limit)
            if not self._fill():
                return self._take(len(self._buf))

    def read(self, size: int | None = -1) -> bytes:
        """``size`` bytes, fewer only at the end of the stream (negative or None: until then)."""
        if size is None or size < 0:
            while self._fill():
                pass
            return self._take(len(self._buf))
        buffered = len(self._buf) - self._pos
        if buffered >= size:
            return self._take(self._pos + size)
        if buffered == 0 and size >= self._bufsize:
            return self._read_direct(size)
        while len(self._buf) - self._pos < size:
            if not self._fill():
                break
        return self._take(min(len(self._buf), self._pos + size))

    def _read_direct(self, size: int) -> bytes:
        """A large read with nothing buffered: ``recv`` straight into the result (a full first
        ``recv`` is returned as it is, no copy; short ones are joined)."""
        first = self._sock.recv(size)
        pieces = [first]
        got = len(first)
        while got < size and pieces[-1]:
            pieces.append(self._sock.recv(size - got))
            got += len(pieces[-1])
        self.bytes_read += got
        return first if len(pieces) == 1 else b"".join(pieces)

    def __iter__(self) -> SocketReader:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self) -> None:
        """Forget the buffer; the socket itself is closed by its connection."""
        self.closed = True
        self._buf = bytearray()
        self._pos = 0


class SocketWriter:
    """Each write goes to ``socket.sendall`` as it is (cheroot writes whole header blocks and chunks)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.bytes_written = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        """Send all of ``data``; returns its length."""
        if isinstance(data, str):
            raise TypeError("can't write str to binary stream")
        self._sock.sendall(data)
        self.bytes_written += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered."""

    def close(self) -> None:
        """The socket itself is closed by its connection."""
        self.closed = True


def make_file(sock: socket.socket, mode: str = "r", bufsize: int = BUFSIZE) -> SocketReader | SocketWriter:
    """cheroot's ``MakeFile`` signature, with these classes."""
    return SocketReader(sock, bufsize) if "r" in mode else SocketWriter(sock)
