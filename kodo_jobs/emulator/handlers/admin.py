"""Admin routes under ``/_emulator/`` (loopback only, never faulted): stats, faults, reset."""

from __future__ import annotations

import json

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from kodo_jobs.emulator.context import EmulatorState, RequestContext
from kodo_jobs.emulator.errors import BadRequest
from kodo_jobs.emulator.faults import FaultInjector
from kodo_jobs.emulator.jsontypes import JsonObject
from kodo_jobs.emulator.responses import json_response
from kodo_jobs.emulator.stats import Stats
from kodo_jobs.emulator.store import Store

ADMIN_KEY = "admin"


class Admin:
    """What the admin routes (and download counting) reach through ``state.services["admin"]``."""

    def __init__(self, stats: Stats, faults: FaultInjector, store: Store) -> None:
        self.stats = stats
        self.faults = faults
        self.store = store

    def stats_snapshot(self) -> JsonObject:
        """The stats document, with the current object count."""
        return self.stats.snapshot(objects=self.store.count_objects())


def admin_of(state: EmulatorState) -> Admin | None:
    """The emulator's admin services (None for a state assembled without ``server.build_app``)."""
    admin = state.services.get(ADMIN_KEY)
    return admin if isinstance(admin, Admin) else None


def _admin(ctx: RequestContext) -> Admin:
    admin = admin_of(ctx.emulator)
    if admin is None:
        raise LookupError("no admin services: the app was not assembled by server.build_app")
    return admin


def stats(ctx: RequestContext) -> Response:
    """``GET /_emulator/stats``: requests by route, bytes received, faults, objects."""
    return json_response(_admin(ctx).stats_snapshot())


def reset_stats(ctx: RequestContext) -> Response:
    """``POST /_emulator/reset-stats``: zero the counters."""
    _admin(ctx).stats.reset()
    return json_response({})


def faults(ctx: RequestContext) -> Response:
    """``POST /_emulator/faults`` ``{"rate": F, "seed": S}`` (rate 0 turns faults off);
    ``GET`` shows the current setting."""
    injector = _admin(ctx).faults
    if ctx.request.method == "POST":
        try:
            doc = json.loads(ctx.body() or b"{}")
            rate = float(doc.get("rate", 0.0))
            seed = int(doc.get("seed", 0))
            injector.configure(rate, seed)
        except (ValueError, TypeError, AttributeError) as exc:
            raise BadRequest(f'expected {{"rate": 0..1, "seed": int}}: {exc}') from exc
    return json_response({"rate": injector.rate, "seed": injector.seed})


def health(ctx: RequestContext) -> Response:
    """``GET /_emulator/health``: liveness."""
    return json_response({"ok": True})


RULES: list[Rule] = [
    Rule("/_emulator/stats", endpoint=stats, methods=["GET"]),
    Rule("/_emulator/reset-stats", endpoint=reset_stats, methods=["POST"]),
    Rule("/_emulator/faults", endpoint=faults, methods=["GET", "POST"]),
    Rule("/_emulator/health", endpoint=health, methods=["GET"]),
]
