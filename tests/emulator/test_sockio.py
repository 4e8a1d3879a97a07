"""emulator.sockio against real socket pairs: the reads cheroot makes (lines split across
packets, size limits, exact and large reads, reads to the end), ``has_data`` and the byte
counters; then a whole keep-alive exchange through the emulator with pipelined requests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.emulator.sockio import SocketReader, SocketWriter


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.settimeout(5)
    b.settimeout(5)
    yield a, b
    a.close()
    b.close()


def _send_slowly(sock: socket.socket, pieces: list[bytes]) -> threading.Thread:
    def run() -> None:
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.01)  # separate packets: lines and bodies arrive split
        sock.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_lines_split_across_packets_and_limits(pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    sender = _send_slowly(client, [b"GET / HT", b"TP/1.1\r\nHost: x\r", b"\nLong: ", b"y" * 300, b"\r\n\r\nbody-bytes"])
    reader = SocketReader(server)
    assert reader.readline() == b"GET / HTTP/1.1\r\n"
    assert reader.readline(256) == b"Host: x\r\n"
    assert reader.readline(20) == b"Long: " + b"y" * 14  # cut at the limit, rest stays
    assert reader.readline() == b"y" * 286 + b"\r\n"
    assert next(reader) == b"\r\n"
    assert reader.read(4) == b"body" and reader.has_data()
    assert reader.read() == b"-bytes" and not reader.has_data()
    assert reader.readline() == b"" and reader.read(10) == b""
    assert list(reader) == []
    assert reader.bytes_read == len(b"GET / HTTP/1.1\r\nHost: x\r\nLong: \r\n\r\nbody-bytes") + 300
    sender.join()


def test_large_reads_and_short_ends(pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    blob = bytes(range(256)) * 4096  # 1 MiB
    sender = _send_slowly(client, [b"head\n", blob[:300_000], blob[300_000:], b"tail"])
    reader = SocketReader(server)
    assert reader.readline() == b"head\n"
    assert reader.read(len(blob)) == blob  # partly buffered, partly read straight in
    assert reader.read(100) == b"tail"  # fewer at the end of the stream
    sender.join()


def test_direct_read_with_nothing_buffered(pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    blob = b"z" * (512 * 1024)
    sender = _send_slowly(client, [blob[:100_000], blob[100_000:]])
    reader = SocketReader(server)
    assert reader.read(len(blob) + 10) == blob and reader.bytes_read == len(blob)
    sender.join()


def test_writer_sends_everything_and_counts(pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    writer = SocketWriter(server)
    assert writer.write(b"abc") == 3 and writer.write(b"x" * 100_000) == 100_000
    writer.flush()
    with pytest.raises(TypeError):
        writer.write("text")  # type: ignore[arg-type]
    got = b""
    while len(got) < 100_003:
        got += client.recv(65536)
    assert got == b"abc" + b"x" * 100_000 and writer.bytes_written == 100_003


def test_pipelined_keep_alive_requests_through_the_emulator(emulator: RunningEmulator) -> None:
    host, port = emulator.url.split("//")[1].split(":")
    request = f"GET /dl/test-bucket/missing HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request * 3)  # three requests in one packet: the later two wait in the buffer
        data = b""
        deadline = time.monotonic() + 10
        while data.count(b"HTTP/1.1 ") < 3 and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.count(b"HTTP/1.1 ") == 3
