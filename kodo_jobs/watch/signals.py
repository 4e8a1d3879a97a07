"""SIGTERM/SIGINT for a resident process: finish the batch in flight, save, exit 0.

The first signal asks the watcher to stop after the batch in flight (a systemd stop, a ^C):
that batch completes, the checkpoint is saved, the lock released, exit 0. A second signal
also asks the batch in flight to stop at the next action boundary (chunked uploads keep their
finished parts; the next start resumes them). A third ends the process at once (``os._exit``),
which is as safe as ``kill -9``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from kodo_jobs.executor.signals import handling


@dataclass
class Stopping:
    """``requested``: stop after this batch; ``abort``: stop the batch in flight too."""

    requested: threading.Event = field(default_factory=threading.Event)
    abort: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event | None = None


@contextmanager
def handle_signals(stopping: Stopping) -> Iterator[None]:
    """Install the handlers (main thread only; elsewhere a no-op, e.g. tests running the loop in a thread)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stopping.abort.is_set():
            sys.stderr.write(f"{name} again: stopping now; the next start resumes\n")
            sys.stderr.flush()
            os._exit(130)
        if stopping.requested.is_set():
            stopping.abort.set()
            sys.stderr.write(f"{name}: stopping the batch in flight at the next action (state saved)\n")
        else:
            stopping.requested.set()
            sys.stderr.write(f"{name}: stopping after the batch in flight (send it again to stop sooner)\n")
        sys.stderr.flush()
        if stopping.wake is not None:
            stopping.wake.set()

    with handling(handler):
        yield
