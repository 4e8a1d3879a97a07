"""Assembly and serving: build the app from a config, serve it with cheroot.

* ``start_emulator(config) -> RunningEmulator``: in-process, serving in a daemon thread (tests,
  ``target: {embedded: true}``); ``.url``, ``.host``, ``.port``, ``.stop()``, ``.stats()``,
  ``.set_faults(rate, seed)``, ``.store``; a context manager.
* ``serve_forever(config)``: the CLI; prints ``listening on http://HOST:PORT`` once it serves
  (then ``proxy on http://HOST:PORT`` in proxy mode), returns after SIGINT/SIGTERM.

Every listener serves through ``hostroute.HostRouter`` (routing by Host, the X-Qiniu-Date
window, ``--latency``); with ``proxy_port`` set, ``proxy.start_proxy`` adds the forward proxy.

cheroot: a thread pool (``THREADS``), TCP_NODELAY (its default), so small answers never wait
on Nagle's algorithm.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType

from cheroot import wsgi

from kodo_jobs.emulator import network, services
from kodo_jobs.emulator.app import EmulatorApp
from kodo_jobs.emulator.config import EmulatorConfig
from kodo_jobs.emulator.context import EmulatorState
from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.faults import FaultInjector
from kodo_jobs.emulator.gate import GatedConnection
from kodo_jobs.emulator.handlers.admin import ADMIN_KEY, Admin
from kodo_jobs.emulator.hostroute import HostRouter, Tunnels
from kodo_jobs.emulator.jsontypes import JsonObject
from kodo_jobs.emulator.routes import all_rules
from kodo_jobs.emulator.stats import Stats
from kodo_jobs.emulator.store import SqliteStore
from kodo_jobs.emulator.sweep import sweep_leftovers
from kodo_jobs.emulator.uploads import Uploads

THREADS = 24


def build_app(config: EmulatorConfig, clock: Callable[[], float] = time.time) -> EmulatorApp:
    """Open (or create) the data folder and assemble the WSGI app; no socket yet."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(config.data_dir)
    for leftover in db.tmp_dir.iterdir():  # bodies half-received when a previous run died
        leftover.unlink(missing_ok=True)
    sweep_leftovers(db)  # bytes a killed run put in place but never recorded
    store = SqliteStore(db, clock=clock, auto_create=config.auto_create_buckets)
    for spec in config.bucket_specs():
        store.create_bucket(spec.name, spec.private)
    uploads = Uploads(db, clock=clock)
    state = EmulatorState(config=config, clock=clock)
    network.install(state)
    stats = Stats()
    faults = FaultInjector(config.fault_rate, config.fault_seed)
    state.services[ADMIN_KEY] = Admin(stats, faults, store)
    state.services["db"] = db
    services.install(state, store)  # upload callbacks, persistentOps, fop and CDN workers: always there
    return EmulatorApp(all_rules(), store, uploads, state, stats, faults)


class RunningEmulator:
    """A started emulator; stop it with ``.stop()`` or a ``with`` block."""

    def __init__(self, app: EmulatorApp, server: wsgi.Server, thread: threading.Thread) -> None:
        self.app = app
        self._server = server
        self._thread = thread
        host, port = server.bind_addr[:2]
        self.host: str = host
        self.port: int = port
        self.url = f"http://{host}:{port}"
        self.config = app.state.config
        self.store = app.store
        self.uploads = app.uploads
        self.state = app.state
        self.proxy_url: str | None = None
        """``http://HOST:PORT`` of the forward proxy (proxy mode only)."""
        self._stopped = False

    def stats(self) -> JsonObject:
        """The same document as ``GET /_emulator/stats``."""
        return self.app.stats.snapshot(objects=self.store.count_objects())

    def reset_stats(self) -> None:
        """Zero the request counters."""
        self.app.stats.reset()

    def set_faults(self, rate: float, seed: int = 0) -> None:
        """Change fault injection at run time (rate 0 turns it off)."""
        self.app.faults.configure(rate, seed)

    def stop(self) -> None:
        """Stop serving, run the services' stop callbacks, close the database."""
        if self._stopped:
            return
        self._stopped = True
        _stop_promptly(self._server, self.host, self.port)
        self._thread.join(timeout=10)
        for callback in list(self.state.on_stop):
            with contextlib.suppress(Exception):  # stopping must finish
                callback()
        db = self.state.services.get("db")
        if isinstance(db, Database):
            db.close()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _stop_promptly(server: wsgi.Server, host: str, port: int) -> None:
    """``server.stop()``, without waiting for the selector's next wake-up.

    cheroot's ``stop()`` asks its selector loop to finish and then waits for it, but the loop
    sees the request only when ``select()`` returns: at the next ``expiration_interval`` tick
    when nothing arrives. A connection to the listening socket makes it return at once, so
    ``stop()`` runs in a helper thread while this one connects until it is done. A connection
    accepted just before the loop ends is served like any client that hangs up at once (a
    worker reads end-of-file and closes it); once the socket is closed, connecting fails fast.
    """
    stopping = threading.Thread(target=server.stop, name="kodo-emulator-stop", daemon=True)
    stopping.start()
    target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    while stopping.is_alive():
        with contextlib.suppress(OSError), socket.create_connection((target, port), timeout=0.5):
            pass
        stopping.join(0.005)


def start_emulator(config: EmulatorConfig, clock: Callable[[], float] = time.time) -> RunningEmulator:
    """Bind (port 0 picks a free port) and serve in a daemon thread; returns once listening."""
    app = build_app(config, clock)
    router = HostRouter(app, Tunnels(), latency=config.latency)
    # with --latency every answer holds its thread for the delay: more threads keep parallel
    # clients parallel, as a real link would
    threads = THREADS if not config.latency else THREADS * 4
    server = wsgi.Server((config.host, config.port), router, numthreads=threads,
                         server_name="kodo-jobs-emulator", timeout=60, shutdown_timeout=2)
    server.ConnectionClass = GatedConnection  # whole header blocks only; headers + small body in one send
    server.header_timeout = config.header_timeout  # type: ignore[attr-defined]  # read by gate.GatedConnection
    server.request_queue_size = 128  # listen backlog: parallel clients must not see refusals
    server.keep_alive_conn_limit = 512  # idle keep-alive connections wait in the selector, not in threads
    server.expiration_interval = 0.1  # selector wake-up: bounds how long stop() waits
    server.prepare()
    thread = threading.Thread(target=server.serve, name="kodo-emulator", daemon=True)
    thread.start()
    running = RunningEmulator(app, server, thread)
    app.state.url = running.url
    if config.proxy_port is not None:
        from kodo_jobs.emulator.proxy import start_proxy

        try:
            proxy = start_proxy(config, router, network.network_of(app.state))
        except BaseException:
            running.stop()
            raise
        app.state.on_stop.insert(0, proxy.stop)
        running.proxy_url = proxy.url
    return running


def serve_forever(config: EmulatorConfig) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (the ``kodo-jobs emulator`` command)."""
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with start_emulator(config) as running:
            sys.stdout.write(f"listening on {running.url}\n")
            if running.proxy_url:
                sys.stdout.write(f"proxy on {running.proxy_url}\n")
            sys.stdout.flush()
            while not done.wait(0.5):
                pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
