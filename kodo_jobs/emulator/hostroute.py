"""Routing by ``Host`` as Kodo routes, the ``X-Qiniu-Date`` window and ``--latency``.

A WSGI middleware in front of ``EmulatorApp`` (every listener serves through it: the base URL,
the proxy's absolute-form requests and the TLS of its CONNECT tunnels):

* A request addressed to one of Kodo's public host names (``regions.kodo_host``) reaches only
  that service's routes: uploads on up hosts, rs/rsf/api/uc/io/fusion on theirs; anything else
  (``/dl/``, ``/_emulator/``, another service) answers 404 as an unknown API would. An upload on
  an up host of another region than the bucket's answers 400 ``incorrect region, please use
  up-<region>.qiniup.com`` (``check_upload_host``, called by the upload handlers once the
  token names the bucket).
* A request addressed to a bucket domain (``--domain``) serves that bucket's objects only:
  ``GET|HEAD /<key>`` is the ``/dl/<bucket>/<key>`` handler (private buckets and anti-leech
  checked against the URL as the client signed it); other methods answer 405.
* Any other host (the plain base URL) is served exactly as before, unless the request came
  through the proxy, which serves Kodo's hosts only.
* ``X-Qiniu-Date`` (sent by the SDK with every Qiniu-signed request) must lie within
  ``DATE_WINDOW`` of the emulator's clock: 401 otherwise. Kodo does not document its
  tolerance; 15 minutes is what comparable services use, and the emulator takes it.
* ``latency`` seconds pass before every answer (admin routes excepted), as on a link to a
  distant region.

Per-host and per-channel request counts go to ``Stats`` (``hosts``, ``channels`` in
``/_emulator/stats``).
"""

from __future__ import annotations

import calendar
import email.utils
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from kodo_jobs.emulator.app import ADMIN_PREFIX, EmulatorApp, route_name
from kodo_jobs.emulator.context import RequestContext
from kodo_jobs.emulator.errors import (
    BadRequest,
    EmulatorError,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
)
from kodo_jobs.emulator.network import BucketNetwork, network_of
from kodo_jobs.emulator.regions import HostKind, is_accelerate_host, kodo_host
from kodo_jobs.emulator.responses import error_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

HOST_KIND = "kodo_emulator.host_kind"
"""environ key: the ``HostKind`` of the addressed Kodo host (absent for other hosts)."""
CHANNEL = "kodo_emulator.channel"
"""environ key: ``direct``, ``proxy`` or ``tunnel`` (set by the proxy front)."""
TUNNEL_HOST = "kodo_emulator.tunnel_host"

DATE_WINDOW = 15 * 60
"""Seconds ``X-Qiniu-Date`` may differ from the emulator's clock, either way."""
DATE_FORMAT = "%Y%m%dT%H%M%SZ"

SERVICE_ROUTES: dict[str, frozenset[str]] = {
    "up": frozenset({"up"}),
    "rs": frozenset({"rs"}),
    "rsf": frozenset({"rsf"}),
    "api": frozenset({"api"}),
    "uc": frozenset({"uc"}),
    "io": frozenset({"io"}),
    "fusion": frozenset({"fusion"}),
}
"""Which handler modules each Kodo service's hosts reach."""


class Tunnels:
    """The proxy's open tunnels, by the local port of its connection to the TLS listener, so a
    request read from that listener knows which host the client's CONNECT named."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_port: dict[int, str] = {}
        self.tls_port: int | None = None

    def add(self, port: int, host: str) -> None:
        with self._lock:
            self._by_port[port] = host

    def remove(self, port: int) -> None:
        with self._lock:
            self._by_port.pop(port, None)

    def host_for(self, environ: WSGIEnvironment) -> str | None:
        """The CONNECT host of a request read from the TLS listener, or None."""
        if self.tls_port is None or environ.get("SERVER_PORT") != str(self.tls_port):
            return None
        try:
            port = int(environ.get("REMOTE_PORT", ""))
        except ValueError:
            return None
        with self._lock:
            return self._by_port.get(port)


def host_name(host_header: str) -> str:
    """A Host header's name: lower-case, no port, no trailing dot."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0].rstrip(".") if ":" in host else host.rstrip(".")


def check_upload_host(ctx: RequestContext, bucket: str) -> None:
    """400 when an upload for ``bucket`` was sent to an up host that does not serve it."""
    kind = ctx.request.environ.get(HOST_KIND)
    if not isinstance(kind, HostKind) or kind.service != "up":
        return
    network = network_of(ctx.emulator)
    region = network.region_of(bucket)
    host = host_name(ctx.host())
    if is_accelerate_host(host):
        if host.partition(".")[0] != bucket or bucket not in network.accelerated:
            raise BadRequest("transfer acceleration is not configured on this bucket")
        if kind.region == region.id:
            return
    elif kind.region == region.id:
        return
    raise BadRequest(f"incorrect region, please use {region.incorrect_region_host}")


def parse_qiniu_date(value: str) -> float | None:
    """Unix seconds of an ``X-Qiniu-Date`` value (``YYYYMMDDTHHMMSSZ``), or None."""
    try:
        return float(calendar.timegm(time.strptime(value.strip(), DATE_FORMAT)))
    except ValueError:
        return None


class HostRouter:
    """The WSGI callable every listener serves: host routing, date window, latency, counts."""

    def __init__(self, app: EmulatorApp, tunnels: Tunnels, latency: float = 0.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.app = app
        self.tunnels = tunnels
        self.latency = latency
        self.sleep = sleep

    @property
    def network(self) -> BucketNetwork:
        return network_of(self.app.state)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        host_header = str(environ.get("HTTP_HOST", ""))
        host = host_name(host_header)
        tunnel_host = self.tunnels.host_for(environ)
        if tunnel_host is not None:
            environ[CHANNEL] = "tunnel"
            environ[TUNNEL_HOST] = tunnel_host
        channel = str(environ.setdefault(CHANNEL, "direct"))
        self.app.stats.count_host(host_header.lower() or "-", channel)
        path = str(environ.get("PATH_INFO", ""))
        admin = path.startswith(ADMIN_PREFIX)
        refusal = self._route(environ, host, channel, tunnel_host) or self._check_date(environ)
        if refusal is not None:
            result = self._refuse(environ, start_response, refusal)
        else:
            result = self.app(environ, start_response)
        if self.latency and not admin:
            self.sleep(self.latency)
        return result

    def _route(self, environ: WSGIEnvironment, host: str, channel: str,
               tunnel_host: str | None) -> EmulatorError | None:
        if tunnel_host is not None and host != tunnel_host:
            return Forbidden(f"Host {host!r} does not match the tunnel to {tunnel_host}")
        bucket = self.network.bucket_of_domain(host)
        if bucket is not None:
            if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
                return MethodNotAllowed()
            environ["PATH_INFO"] = f"/dl/{bucket}{environ.get('PATH_INFO') or '/'}"
            return None
        kind = kodo_host(host)
        if kind is None:
            if channel != "direct":
                return Forbidden(f"{host or 'this host'} is not one of Kodo's hosts")
            return None
        environ[HOST_KIND] = kind
        module = self._module_of(environ)
        if module is not None and module not in SERVICE_ROUTES[kind.service]:
            return NotFound(f"no such API on {host}")
        if str(environ.get("PATH_INFO", "")).startswith(ADMIN_PREFIX):
            return NotFound(f"no such API on {host}")
        return None

    def _module_of(self, environ: WSGIEnvironment) -> str | None:
        """The handler module a request would reach (None when no route matches: the app
        answers that 404/405 itself)."""
        try:
            rule, _ = self.app.url_map.bind_to_environ(environ).match(return_rule=True)
        except HTTPException:
            return None
        return route_name(rule).partition(".")[0]

    def _check_date(self, environ: WSGIEnvironment) -> EmulatorError | None:
        value = environ.get("HTTP_X_QINIU_DATE")
        if value is None:
            return None
        sent = parse_qiniu_date(str(value))
        if sent is None:
            return Unauthorized("X-Qiniu-Date is malformed (want YYYYMMDDTHHMMSSZ)")
        skew = sent - self.app.state.clock()
        if abs(skew) > DATE_WINDOW:
            return Unauthorized(
                f"X-Qiniu-Date is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the server clock"
                f" (allowed: {DATE_WINDOW // 60} minutes)")
        return None

    def _refuse(self, environ: WSGIEnvironment, start_response: StartResponse,
                err: EmulatorError) -> Iterable[bytes]:
        response: Response = error_response(err)
        response.headers["X-Reqid"] = uuid.uuid4().hex[:16]
        response.headers["X-Log"] = "kodo-jobs-emulator"
        response.headers["Date"] = email.utils.formatdate(self.app.state.clock(), usegmt=True)
        _drain(Request(environ))
        self.app.stats.count_response(response.status_code, response.calculate_content_length() or 0)
        return response(environ, start_response)


def _drain(request: Request, chunk: int = 64 * 1024) -> None:
    """Read a refused request's body (bounded by Content-Length), so keep-alive stays in sync."""
    try:
        while request.stream.read(chunk):
            pass
    except (OSError, ValueError):
        pass
