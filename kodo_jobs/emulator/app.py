"""The WSGI application: routing, X-Reqid, fault injection, stats, one error renderer.

Request life: count the route -> (not admin) draw a fault -> build ``RequestContext`` -> call
the handler -> render domain errors -> add ``X-Reqid``/``X-Log`` -> drain and count the rest
of the body (so keep-alive stays in sync and ``bytes_received`` is exact, faulted requests
included). A ``drop`` fault raises ``ConnectionResetError``, which cheroot treats as a client
disconnect: the socket is closed without an answer.
"""

from __future__ import annotations

import email.utils
import errno
import ipaddress
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as WzMethodNotAllowed
from werkzeug.exceptions import NotFound as WzNotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from kodo_jobs.emulator.context import EmulatorState, RequestContext
from kodo_jobs.emulator.errors import EmulatorError, Forbidden, MethodNotAllowed, NotFound
from kodo_jobs.emulator.faults import FaultInjector
from kodo_jobs.emulator.limits import BodyTooLarge, CountingInput, declared_length, drain_within_limit
from kodo_jobs.emulator.responses import error_response, raw_error
from kodo_jobs.emulator.stats import Stats

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from kodo_jobs.emulator.store import Store
    from kodo_jobs.emulator.uploads import Uploads

log = logging.getLogger("kodo_jobs.emulator")

ADMIN_PREFIX = "/_emulator/"
_CHUNK = 64 * 1024  # one read buffer's worth, as bodies.READ (why: there)


def route_name(rule: Rule) -> str:
    """Stats name of a route: ``<service module>.<handler name>``."""
    endpoint: object = rule.endpoint
    name = getattr(endpoint, "route_name", None)
    if name:
        return str(name)
    module = getattr(endpoint, "__module__", "") or ""
    return f"{module.rsplit('.', 1)[-1]}.{getattr(endpoint, '__name__', 'handler')}"


def is_loopback(addr: str | None) -> bool:
    """Whether a peer address is on this machine."""
    if not addr:
        return False
    try:
        return ipaddress.ip_address(addr.split("%")[0]).is_loopback
    except ValueError:
        return False


class EmulatorApp:
    """The WSGI callable serving every Kodo service on one base URL."""

    def __init__(self, rules: list[Rule], store: Store, uploads: Uploads, state: EmulatorState,
                 stats: Stats, faults: FaultInjector,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)
        self.store = store
        self.uploads = uploads
        self.state = state
        self.stats = stats
        self.faults = faults
        self.sleep = sleep

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        raw_input = environ.get("wsgi.input")
        counting = CountingInput(raw_input, self.stats, declared=declared_length(environ)) \
            if raw_input is not None else None
        if counting is not None:
            environ["wsgi.input"] = counting
        reqid = uuid.uuid4().hex[:16]
        request = Request(environ)
        response = self._respond(request, environ, reqid)
        if counting is not None and not drain_within_limit(request, counting):
            response = error_response(BodyTooLarge())  # after a 413 cheroot closes the connection
        response.headers["X-Reqid"] = reqid
        response.headers.setdefault("X-Log", "kodo-jobs-emulator")
        # from the emulator's own clock (a test may skew it), so clients can measure clock skew
        response.headers["Date"] = email.utils.formatdate(self.state.clock(), usegmt=True)
        body_len = response.calculate_content_length()
        self.stats.count_response(response.status_code, body_len or 0)
        return response(environ, start_response)

    @staticmethod
    def _drain(request: Request) -> None:
        # Read what the handler left through werkzeug's stream (limited to Content-Length).
        try:
            while request.stream.read(_CHUNK):
                pass
        except (OSError, ValueError, EmulatorError):
            pass

    def _respond(self, request: Request, environ: WSGIEnvironment, reqid: str) -> Response:
        adapter = self.url_map.bind_to_environ(environ)
        try:
            rule, args = adapter.match(return_rule=True)
        except WzNotFound:
            self.stats.count_request("unmatched")
            return error_response(NotFound(f"no such route: {request.method} {request.path}"))
        except WzMethodNotAllowed:
            self.stats.count_request("unmatched")
            return error_response(MethodNotAllowed())
        except HTTPException as exc:  # e.g. a redirect werkzeug wants; never expected
            self.stats.count_request("unmatched")
            return raw_error(exc.code or 400, exc.description or "bad request")
        name = route_name(rule)
        self.stats.count_request(name)
        admin = rule.rule.startswith(ADMIN_PREFIX)
        if admin:
            if not is_loopback(environ.get("REMOTE_ADDR")):
                return error_response(Forbidden("admin routes answer loopback clients only"))
        else:
            fault = self.faults.decide()
            if fault is not None:
                self.stats.count_fault(fault.kind)
                if fault.kind == "drop":
                    self._drain(request)
                    raise ConnectionResetError(errno.ECONNRESET, "kodo-jobs emulator: injected dropped connection")
                if fault.kind == "slow":
                    self.sleep(fault.delay)
                else:
                    headers = {"Retry-After": "1"} if fault.kind in ("503", "573") else None
                    return error_response(_InjectedFault(fault.status), headers)
        ctx = RequestContext(request=request, store=self.store, uploads=self.uploads,
                             config=self.state.config, emulator=self.state, reqid=reqid, route=name)
        try:
            response: Response = rule.endpoint(ctx, **args)
            return response
        except EmulatorError as err:
            return error_response(err)
        except HTTPException as exc:  # werkzeug parsing errors (client disconnect, bad multipart ...)
            return raw_error(exc.code or 400, exc.description or "bad request")
        except Exception:
            log.exception("emulator handler %s crashed (reqid %s)", name, reqid)
            return raw_error(599, "server operation failed (emulator bug; see its log)")


class _InjectedFault(EmulatorError):
    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(f"injected fault {status}")
