"""A loopback HTTP server that records every request (a Pushgateway or webhook stand-in).

``statuses`` are answered in order (the last one repeats); ``gate``, when given, holds every
answer until the test sets it (a receiver that does not answer in time).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    """One request as received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """The server's URL and what it received."""

    url: str
    requests: list[Recorded] = field(default_factory=list)


@contextmanager
def recording_server(statuses: tuple[int, ...] = (200,), gate: threading.Event | None = None) -> Iterator[Recorder]:
    """Serve on 127.0.0.1 (a free port) until the block ends."""
    answers = list(statuses)
    lock = threading.Lock()
    rec: Recorder

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                rec.requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
                status = answers.pop(0) if len(answers) > 1 else answers[0]
            if gate is not None:
                gate.wait(60)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec = Recorder(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        if gate is not None:
            gate.set()
        server.shutdown()
        server.server_close()
