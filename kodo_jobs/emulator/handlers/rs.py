"""rs: stat, move, copy, delete, chgm, chtype, deleteAfterDays, chstatus, restoreAr,
lifecycle and batch. Every command is a path (``/stat/<entry>``), accepted as GET or POST;
``batch`` runs the same command functions and answers 200, or 298 when any op failed."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from kodo_jobs.emulator.context import RequestContext
from kodo_jobs.emulator.errors import BadRequest, EmulatorError
from kodo_jobs.emulator.jsontypes import JsonObject
from kodo_jobs.emulator.limits import MAX_SIGNED_BODY
from kodo_jobs.emulator.responses import empty_ok, json_response
from kodo_jobs.emulator.store import Store
from kodo_jobs.emulator.verify import FORM_TYPE, b64decode_str, decode_entry

MAX_BATCH = 1000
Command = Callable[[Store, list[str], float], "JsonObject | None"]
_NEEDPARTS = "needparts"  # marker segment appended by the stat route for ``?needparts=true``


def _entry(seg: str) -> tuple[str, str]:
    bucket, key = decode_entry(seg)
    if key is None:
        raise BadRequest("entry must name a key")
    return bucket, key


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise BadRequest(f"invalid {what}") from exc


def _pairs(segs: list[str]) -> dict[str, str]:
    if len(segs) % 2:
        raise BadRequest("path parameters must come in name/value pairs")
    return {segs[i]: segs[i + 1] for i in range(0, len(segs), 2)}


def _cond(pairs: dict[str, str]) -> dict[str, str] | None:
    if "cond" not in pairs:
        return None
    return dict(parse_qsl(b64decode_str(pairs["cond"]), keep_blank_values=True))


def cmd_stat(store: Store, segs: list[str], now: float) -> JsonObject | None:
    bucket, key = _entry(segs[0])
    return store.stat(bucket, key).to_json(now, with_parts=_NEEDPARTS in segs[1:])


def _transfer(move: bool) -> Command:
    def run(store: Store, segs: list[str], now: float) -> JsonObject | None:
        if len(segs) < 2:
            raise BadRequest("expected <src entry>/<dst entry>")
        src_b, src_k = _entry(segs[0])
        dst_b, dst_k = _entry(segs[1])
        force = _pairs(segs[2:]).get("force", "false") == "true"
        (store.move if move else store.copy)(src_b, src_k, dst_b, dst_k, force)
        return None
    return run


def cmd_delete(store: Store, segs: list[str], now: float) -> JsonObject | None:
    store.delete(*_entry(segs[0]))
    return None


def cmd_chgm(store: Store, segs: list[str], now: float) -> JsonObject | None:
    bucket, key = _entry(segs[0])
    pairs = _pairs(segs[1:])
    mime = b64decode_str(pairs["mime"]) if "mime" in pairs else None
    meta = {name[len("x-qn-meta-"):]: b64decode_str(v) for name, v in pairs.items()
            if name.startswith("x-qn-meta-")}
    if mime is None and not meta:
        raise BadRequest("nothing to change: give mime or x-qn-meta-<name>")
    store.change_mime(bucket, key, mime, meta, cond=_cond(pairs))
    return None


IntSetter = Callable[[Store, str, str, int, "dict[str, str] | None"], object]
"""(store, bucket, key, value, cond): one of the store's integer attribute changes."""


def _set_int(setter: IntSetter, name: str) -> Command:
    """``<cmd>/<entry>/<name>/<n>[/cond/<c>]``: one integer attribute (chtype, chstatus, restoreAr)."""
    def run(store: Store, segs: list[str], now: float) -> JsonObject | None:
        bucket, key = _entry(segs[0])
        pairs = _pairs(segs[1:])
        setter(store, bucket, key, _int(pairs.get(name, ""), name), _cond(pairs))
        return None
    return run


def cmd_delete_after_days(store: Store, segs: list[str], now: float) -> JsonObject | None:
    if len(segs) < 2:
        raise BadRequest("expected <entry>/<days>")
    bucket, key = _entry(segs[0])
    store.set_delete_after_days(bucket, key, _int(segs[1], "days"), cond=_cond(_pairs(segs[2:])))
    return None


def cmd_lifecycle(store: Store, segs: list[str], now: float) -> JsonObject | None:
    bucket, key = _entry(segs[0])
    p = _pairs(segs[1:])

    def days(name: str) -> int:
        return _int(p.get(name, "0"), name)
    store.set_lifecycle(bucket, key, to_ia=days("toIAAfterDays"), to_archive_ir=days("toArchiveIRAfterDays"),
                        to_archive=days("toArchiveAfterDays"), to_deep_archive=days("toDeepArchiveAfterDays"),
                        delete=days("deleteAfterDays"), cond=_cond(p))
    return None


COMMANDS: dict[str, Command] = {
    "stat": cmd_stat,
    "move": _transfer(move=True),
    "copy": _transfer(move=False),
    "delete": cmd_delete,
    "chgm": cmd_chgm,
    "chtype": _set_int(lambda s, b, k, n, cond: s.change_type(b, k, n, cond), "type"),
    "deleteAfterDays": cmd_delete_after_days,
    "chstatus": _set_int(lambda s, b, k, n, cond: s.change_status(b, k, n, cond), "status"),
    "restoreAr": _set_int(lambda s, b, k, n, cond: s.restore_ar(b, k, n, cond), "freezeAfterDays"),
    "lifecycle": cmd_lifecycle,
}


def execute(store: Store, op: str, now: float) -> JsonObject | None:
    """Run one command given as its path (``stat/<entry>`` or ``/stat/<entry>``)."""
    segs = [s for s in op.strip().lstrip("/").split("/")]
    name = segs[0] if segs else ""
    command = COMMANDS.get(name)
    if command is None or len(segs) < 2 or not segs[1]:
        raise BadRequest(f"unknown or incomplete command {name!r}")
    return command(store, segs[1:], now)


def _command_handler(name: str) -> Callable[..., Response]:
    def handler(ctx: RequestContext, args: str) -> Response:
        ctx.require_mgmt_auth()
        op = f"{name}/{args}"
        if name == "stat" and ctx.request.args.get("needparts") == "true":
            op += "/" + _NEEDPARTS
        result = execute(ctx.store, op, ctx.now())
        return json_response(result) if result is not None else empty_ok()
    handler.__name__ = name
    handler.route_name = f"rs.{name}"  # type: ignore[attr-defined]
    return handler


_OK: JsonObject = {"code": 200}


def _plain_delete(op: str) -> str | None:
    """The encoded entry of a plain ``delete/<entry>`` op (the bulk path), else None."""
    body = op.strip().lstrip("/")
    if not body.startswith("delete/"):
        return None
    seg = body[7:]
    return seg if seg and "/" not in seg else None


def run_batch(store: Store, ops: list[str], now: float) -> tuple[list[JsonObject], int]:
    """Per-op results of a /batch and how many failed; call inside ``store.batch()``.

    Consecutive plain deletes go to :meth:`Store.delete_many` together (why: per-op overhead was
    most of a 1000-delete batch); every other op runs on its own, in order, after the deletes
    before it, so results are exactly those of running the ops one by one."""
    results: list[JsonObject] = [_OK] * len(ops)
    failed = 0
    deletes: list[tuple[int, str, str]] = []

    def fail(i: int, err: EmulatorError) -> None:
        nonlocal failed
        failed += 1
        results[i] = {"code": err.status, "data": {"error": err.message}}

    def flush() -> None:
        errors = store.delete_many([(bucket, key) for _, bucket, key in deletes])
        for (i, _, _), err in zip(deletes, errors, strict=True):
            if err is not None:
                fail(i, err)
        deletes.clear()

    for i, op in enumerate(ops):
        seg = _plain_delete(op)
        if seg is not None:
            try:
                deletes.append((i, *_entry(seg)))
            except EmulatorError as err:
                fail(i, err)
            continue
        if deletes:
            flush()
        try:
            data = execute(store, op, now)
            if data is not None:
                results[i] = {"code": 200, "data": data}
        except EmulatorError as err:
            fail(i, err)
    if deletes:
        flush()
    return results, failed


def plain_batch_ops(body: bytes) -> list[str] | None:
    """The ``op`` values of a form body whose only escapes are ``%2F`` and ``%3D`` (what the SDK
    and kodo-jobs send for base64 entries), in order; None for anything else (the caller then
    uses the general form parser). Why: werkzeug unquoted every field on its own, a visible
    share of a large batch's server time (figures: docs/bench.md)."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        return None
    found: list[str] = []
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if name != "op":
            if "%" in name or "+" in name:
                return None
            continue
        if "%" in value:
            value = value.replace("%2F", "/").replace("%3D", "=")
            if "%" in value:
                return None
        if "+" in value:
            return None
        found.append(value)
    return found


def batch(ctx: RequestContext) -> Response:
    """``POST /batch`` with ``op=<command path>`` fields: 200 all ok, 298 some failed."""
    ctx.require_mgmt_auth()
    length = ctx.request.content_length
    plain = ctx.request.mimetype == FORM_TYPE and length is not None and length <= MAX_SIGNED_BODY
    ops = plain_batch_ops(ctx.body()) if plain else None
    if ops is None:
        ops = ctx.request.form.getlist("op")
    if not ops:
        raise BadRequest("no op given")
    if len(ops) > MAX_BATCH:
        raise BadRequest(f"too many ops: at most {MAX_BATCH} per batch")
    with ctx.store.batch():  # one transaction; each op is a savepoint (a failure undoes only itself)
        results, failed = run_batch(ctx.store, ops, ctx.now())
    return json_response(results, status=298 if failed else 200)


RULES: list[Rule] = [
    *(Rule(f"/{name}/<path:args>", endpoint=_command_handler(name), methods=["GET", "POST"])
      for name in COMMANDS),
    Rule("/batch", endpoint=batch, methods=["POST"]),
]
