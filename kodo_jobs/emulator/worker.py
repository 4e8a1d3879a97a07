"""A background daemon thread that sleeps until woken: the pfop and async-fetch workers.

Both emulator services run one loop each that does work while there is some and otherwise
sleeps until a request queues more (no polling writes on a shared machine). This class holds
the thread, the stop flag and the wake-up event so each service only writes its loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Worker:
    """Runs ``loop`` on a daemon thread; the loop checks :attr:`stopping` and calls :meth:`idle`."""

    def __init__(self, name: str, loop: Callable[[], None]) -> None:
        self.name = name
        self._loop = loop
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def wake_up(self) -> None:
        """Cut the loop's current :meth:`idle` short (new work was queued)."""
        self._wake.set()

    def idle(self, seconds: float) -> None:
        """Sleep up to ``seconds``, or until :meth:`wake_up` or :meth:`stop`."""
        self._wake.wait(seconds)
        self._wake.clear()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to end, wake it and wait for it (up to ``timeout``)."""
        self.stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
