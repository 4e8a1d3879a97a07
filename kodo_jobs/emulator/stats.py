"""Request counters for ``GET /_emulator/stats`` (tests and benchmarks read them)."""

from __future__ import annotations

import threading
from collections import Counter

from kodo_jobs.emulator.jsontypes import JsonObject


class Stats:
    """Thread-safe counters: requests per route, body bytes received, faults injected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self.requests: Counter[str] = Counter()
            self.statuses: Counter[int] = Counter()
            self.faults: Counter[str] = Counter()
            self.hosts: Counter[str] = Counter()
            self.channels: Counter[str] = Counter()
            self.bytes_received = 0
            self.bytes_sent = 0
            self.download_responses: Counter[int] = Counter()
            self.download_bytes: Counter[int] = Counter()

    def count_request(self, route: str) -> None:
        """One request matched ``route``."""
        with self._lock:
            self.requests[route] += 1

    def count_host(self, host: str, channel: str) -> None:
        """One request addressed ``host`` (its Host header) and arrived by ``channel``
        (``direct``, ``proxy`` for absolute-form http through the proxy, ``tunnel`` for a
        CONNECT tunnel's TLS)."""
        with self._lock:
            self.hosts[host] += 1
            self.channels[channel] += 1

    def add_received(self, n: int) -> None:
        """Request body bytes read from a client."""
        with self._lock:
            self.bytes_received += n

    def count_response(self, status: int, size: int) -> None:
        """A response left."""
        with self._lock:
            self.statuses[status] += 1
            self.bytes_sent += size

    def count_download(self, status: int) -> None:
        """A ``GET /dl/...`` answered ``status`` (200, 206, 304, 416, 404 ...)."""
        with self._lock:
            self.download_responses[status] += 1

    def add_download_bytes(self, status: int, n: int) -> None:
        """``n`` body bytes of a download answered ``status`` were handed to the server.

        Counted as the body is streamed, not from ``Content-Length``: a client killed in the
        middle of a body is charged only what the server wrote before the connection broke.
        """
        with self._lock:
            self.download_bytes[status] += n
            self.bytes_sent += n

    def count_fault(self, kind: str) -> None:
        """A fault was injected."""
        with self._lock:
            self.faults[kind] += 1

    def snapshot(self, objects: int) -> JsonObject:
        """The JSON document of ``/_emulator/stats``."""
        with self._lock:
            return {
                "requests": dict(sorted(self.requests.items())),
                "requests_total": sum(self.requests.values()),
                "bytes_received": self.bytes_received,
                "bytes_sent": self.bytes_sent,
                "faults_injected": sum(self.faults.values()),
                "faults_by_kind": dict(sorted(self.faults.items())),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "objects": objects,
                "hosts": dict(sorted(self.hosts.items())),
                "channels": dict(sorted(self.channels.items())),
                "downloads": {
                    "responses": {str(k): v for k, v in sorted(self.download_responses.items())},
                    "bytes": {str(k): v for k, v in sorted(self.download_bytes.items())},
                    "bytes_total": sum(self.download_bytes.values()),
                },
            }
