"""The whole route table in one place (like fake-gcs-server's ``buildMuxer``).

Each handler module exposes ``RULES: list[Rule]`` whose endpoints are handler callables
``handler(ctx: RequestContext, **url_args) -> Response``. Order matters only where werkzeug
cannot tell rules apart; admin routes live under ``/_emulator/``.
"""

from __future__ import annotations

from werkzeug.routing import Rule

from kodo_jobs.emulator.handlers import admin, api, dl, fusion, io, rs, rsf, uc, up

MODULES = (admin, uc, up, rs, rsf, io, api, fusion, dl)


def all_rules() -> list[Rule]:
    """Fresh Rule objects for one app (werkzeug binds a Rule to exactly one Map)."""
    return [rule.empty() for module in MODULES for rule in module.RULES]
