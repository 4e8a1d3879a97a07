"""The forward-proxy front: the emulator as "Kodo's internet" (``--proxy-port``).

Clients keep Kodo's real host names and set ``HTTP_PROXY``/``HTTPS_PROXY`` to this proxy and
``REQUESTS_CA_BUNDLE`` to ``<data>/ca.pem``. Two cheroot listeners serve it, both running the
emulator's own WSGI app (through ``hostroute.HostRouter``):

* the proxy port, a cheroot server in proxy mode: absolute-form ``http://HOST/...`` requests
  are served directly; ``CONNECT HOST:443`` is answered ``200`` and the tunnel's bytes are
  relayed to
* a loopback TLS listener (cheroot's builtin SSL adapter) holding a certificate minted by the
  emulator's CA (``certs``) for every host the proxy serves; the tunnel's CONNECT host is
  known to the router through ``hostroute.Tunnels``.

Only Kodo's public host names (``regions``: every service of every region, uc, fusion,
acceleration domains) and the configured bucket domains are served, on port 80 (http) or 443
(CONNECT). Any other host is refused with 403 before anything is opened: the proxy never
connects anywhere but to its own TLS listener, so it can never be an open proxy.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import urllib.parse
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cheroot import wsgi
from cheroot.server import HTTPConnection, HTTPRequest
from cheroot.ssl.builtin import BuiltinSSLAdapter

from kodo_jobs.emulator import certs
from kodo_jobs.emulator.hostroute import CHANNEL, HostRouter, Tunnels
from kodo_jobs.emulator.network import BucketNetwork
from kodo_jobs.emulator.regions import HOSTS, REGIONS, kodo_host

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from kodo_jobs.emulator.config import EmulatorConfig

PROXY_THREADS = 16
"""Threads the proxy starts with. Each open tunnel holds one for its life (clients keep their
connections alive), so the pool grows as tunnels open, up to ``MAX_PROXY_THREADS``."""
MAX_PROXY_THREADS = 1024
_GROW_BY = 8
TLS_THREADS = 24
TUNNEL_IDLE = 300.0
"""Seconds a tunnel may stay silent before the proxy closes it."""
_RELAY_CHUNK = 64 * 1024


def served_hosts(network: BucketNetwork) -> list[str]:
    """Every name the TLS certificate must carry: Kodo's hosts, wildcard acceleration domains
    per region, and the bucket domains."""
    names = sorted(HOSTS)
    names += [f"*.kodo-accelerate.{r.s3_alias}.qiniucs.com" for r in REGIONS.values()]
    names += sorted(network.all_domains())
    return names


class ProxyFront:
    """Decides what the proxy serves and runs its tunnels."""

    def __init__(self, router: HostRouter, network: BucketNetwork, tunnels: Tunnels) -> None:
        self.router = router
        self.network = network
        self.tunnels = tunnels
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def serves(self, host: str) -> bool:
        """Whether ``host`` is Kodo's or a bucket domain (the only hosts this proxy serves)."""
        host = host.lower().rstrip(".")
        return kodo_host(host) is not None or self.network.bucket_of_domain(host) is not None

    # -- absolute-form http -----------------------------------------------------------------
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        target = str(environ.get("REQUEST_URI", ""))
        parts = urllib.parse.urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            return _plain(start_response, "400 Bad Request",
                          "kodo-jobs emulator proxy: send absolute-form http:// requests or CONNECT host:443\n")
        host = parts.hostname
        try:
            port = parts.port or 80
        except ValueError:
            port = 0
        if port != 80 or not self.serves(host):
            return _plain(start_response, "403 Forbidden",
                          f"kodo-jobs emulator proxy: {parts.netloc} is not one of Kodo's hosts\n")
        environ[CHANNEL] = "proxy"
        environ["HTTP_HOST"] = parts.netloc
        return self.router(environ, start_response)

    # -- CONNECT ----------------------------------------------------------------------------
    def tunnel(self, req: HTTPRequest) -> None:
        """Answer a CONNECT: refuse hosts the proxy does not serve, else relay to TLS."""
        req.close_connection = True
        authority = bytes(req.authority or b"").decode("latin-1")
        host, _, port = authority.rpartition(":")
        if port != "443" or not self.serves(host) or self.tunnels.tls_port is None:
            req.simple_response("403 Forbidden", f"kodo-jobs emulator proxy: {authority} is not one of Kodo's hosts")
            return
        backend = socket.create_connection(("127.0.0.1", self.tunnels.tls_port), timeout=TUNNEL_IDLE)
        local_port = backend.getsockname()[1]
        self.tunnels.add(local_port, host.lower().rstrip("."))
        conn: Any = req.conn
        with self._open_lock:
            self._open.update((backend, conn.socket))
        try:
            conn.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            conn.wfile.flush()
            conn.socket.settimeout(TUNNEL_IDLE)
            _relay(conn.rfile, conn.socket, backend)
        finally:
            self.tunnels.remove(local_port)
            with self._open_lock:
                self._open.difference_update((backend, conn.socket))
            with contextlib.suppress(OSError):
                backend.close()

    def close_tunnels(self) -> None:
        """End every open tunnel (at shutdown: their threads return at once)."""
        with self._open_lock:
            open_now = list(self._open)
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _plain(start_response: StartResponse, status: str, text: str) -> Iterable[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                            ("Connection", "close")])
    return [body]


def _relay(client_in: Any, client_sock: socket.socket, backend: socket.socket) -> None:
    """Copy bytes both ways until either side is done (client -> backend in a helper thread,
    reading through cheroot's buffered reader so nothing it already buffered is lost)."""

    def upstream() -> None:
        try:
            while True:
                data = client_in.read1(_RELAY_CHUNK)
                if not data:
                    break
                backend.sendall(data)
        except (OSError, ValueError):
            pass
        with contextlib.suppress(OSError):
            backend.shutdown(socket.SHUT_WR)

    helper = threading.Thread(target=upstream, name="kodo-proxy-up", daemon=True)
    helper.start()
    try:
        while True:
            data = backend.recv(_RELAY_CHUNK)
            if not data:
                break
            client_sock.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        client_sock.shutdown(socket.SHUT_RDWR)
    helper.join(timeout=TUNNEL_IDLE)


class _ProxyRequest(HTTPRequest):
    """A cheroot request in proxy mode (absolute-form targets and CONNECT are legal)."""

    def __init__(self, server: Any, conn: Any, proxy_mode: bool = True, strict_mode: bool = True) -> None:
        super().__init__(server, conn, proxy_mode=True, strict_mode=strict_mode)

    def respond(self) -> None:
        if self.method == b"CONNECT":
            pool = self.server.requests
            if pool.idle < 2:  # this thread is about to be held by a tunnel: keep some free
                pool.grow(_GROW_BY)
            front: ProxyFront = self.server.wsgi_app
            front.tunnel(self)
            return
        super().respond()


class _ProxyConnection(HTTPConnection):
    RequestHandlerClass: Any = _ProxyRequest


class RunningProxy:
    """The proxy listener and its TLS listener, serving until ``stop()``."""

    def __init__(self, proxy: wsgi.Server, tls: wsgi.Server, threads: list[threading.Thread],
                 front: ProxyFront) -> None:
        self._front = front
        self._proxy = proxy
        self._tls = tls
        self._threads = threads
        host, port = proxy.bind_addr[:2]
        self.host: str = host
        self.port: int = port
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        """Stop both listeners."""
        self._front.close_tunnels()
        for server in (self._proxy, self._tls):
            with contextlib.suppress(Exception):
                server.stop()
        for thread in self._threads:
            thread.join(timeout=10)


def start_proxy(config: EmulatorConfig, router: HostRouter, network: BucketNetwork) -> RunningProxy:
    """Mint (or reuse) the CA, start the TLS listener and the proxy; returns once both listen."""
    ca = certs.load_or_create_ca(config.data_dir)
    cert = certs.issue_server_cert(ca, served_hosts(network), config.data_dir)
    tls = wsgi.Server(("127.0.0.1", 0), router, numthreads=TLS_THREADS,
                      server_name="kodo-jobs-emulator-tls", timeout=60, shutdown_timeout=2)
    tls.ssl_adapter = BuiltinSSLAdapter(str(cert.cert), str(cert.key))
    front = ProxyFront(router, network, router.tunnels)
    proxy = wsgi.Server((config.host, config.proxy_port or 0), front, numthreads=PROXY_THREADS,
                        max=MAX_PROXY_THREADS, server_name="kodo-jobs-emulator-proxy", timeout=60, shutdown_timeout=2)
    proxy.ConnectionClass = _ProxyConnection
    for server in (tls, proxy):
        server.request_queue_size = 128
        server.expiration_interval = 0.1
    tls.keep_alive_conn_limit = 512  # cheroot's default (10) would close the 11th kept-alive tunnel
    tls.prepare()  # starts its worker threads: stop it if the proxy cannot listen
    try:
        proxy.prepare()
    except BaseException:
        tls.stop()
        raise
    router.tunnels.tls_port = tls.bind_addr[1]  # before the proxy accepts anything
    threads = []
    for server in (tls, proxy):
        thread = threading.Thread(target=server.serve, name=server.server_name, daemon=True)
        thread.start()
        threads.append(thread)
    return RunningProxy(proxy, tls, threads, front)
