"""SIGINT/SIGTERM: the first one asks the run to stop cleanly, the second one stops it now.

A clean stop means: take no new work, let in-flight calls finish (a chunked upload starts no
new part, saves the parts in flight and stays pending), save the checkpoint, exit 130. The
second signal ends the process at once with ``os._exit(130)``: worker threads cannot be
interrupted, and the checkpoint (SQLite WAL, every finished part committed before it counts)
is as consistent as after ``kill -9``.
Handlers can only be installed from the main thread; elsewhere (tests running the engine in a
thread) the context is a no-op.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

Handler = Callable[[int, FrameType | None], None]


@contextmanager
def handling(handler: Handler) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM go to ``handler``; the previous handlers come back
    after it. Off the main thread (where Python cannot install handlers) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM set ``stop``; a second signal exits 130 at once."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            sys.stderr.write(f"{signal.Signals(signum).name} again: stopping now; the next run resumes\n")
            sys.stderr.flush()
            os._exit(130)
        stop.set()
        sys.stderr.write(f"{signal.Signals(signum).name}: stopping after the work in flight "
                         "(send it again to stop at once)\n")

    with handling(handler):
        yield
