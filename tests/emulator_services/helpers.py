"""Test helpers: a local HTTP origin (fetch source, mirror, callback and notify receiver)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.emulator.services import store_bytes


@dataclass
class Received:
    """One request the origin received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Origin:
    """A tiny HTTP server on 127.0.0.1:0: GET serves `files`, POST records and answers.

    POST answers: `replies[path]` = (status, body bytes) if set, else 200 `{"ok": true}`.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    replies: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def posts(self, path: str) -> list[Received]:
        return [r for r in self.received if r.method == "POST" and r.path.split("?")[0] == path]

    def wait_posts(self, path: str, count: int = 1, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.posts(path)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"no POST to {path} within {timeout}s; got {self.received!r}")


def serve_origin() -> tuple[Origin, Callable[[], None]]:
    """Start an origin; returns it and a stop function."""
    origin = Origin()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _record(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            origin.received.append(Received(self.command, self.path, dict(self.headers.items()), body))
            return body

        def do_GET(self) -> None:
            self._record()
            data = origin.files.get(self.path.split("?")[0])
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = self._record()
            status, answer = origin.replies.get(self.path.split("?")[0], (200, b""))
            if not answer and status == 200:
                answer = json.dumps({"ok": True, "got": body.decode("utf-8", "replace")}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    origin.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return origin, stop


def origin_fixture() -> Iterator[Origin]:
    origin, stop = serve_origin()
    yield origin
    stop()


def put(emulator: RunningEmulator, bucket: str, key: str, data: bytes, mime: str = "text/plain") -> str:
    """Store an object directly (test setup, not the subject under test); returns its hash."""
    return store_bytes(emulator.store, bucket, key, data, mime).hash
