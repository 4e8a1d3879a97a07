"""Turn pydantic's error records into compiler-style messages at YAML paths.

Pydantic locates errors by model path (``('jobs', 1, 'sync', 'max_delete')``) and words them for
Python programmers. Here the discriminator tag is dropped from the path, messages say what is
expected and what was found (never for secret fields), and unknown fields get a "did you mean".
"""

from __future__ import annotations

import types
import typing
from typing import Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from kodo_jobs.manifest.models import KIND_MODELS, Manifest
from kodo_jobs.manifest.suggest import closest, did_you_mean
from kodo_jobs.manifest.yamlio import PathKey

SECRET_FIELDS = frozenset({"access_key", "secret_key", "anti_leech_key"})
_KINDS = ", ".join(KIND_MODELS)


def format_path(path: PathKey) -> str:
    """``("jobs", 1, "max_delete")`` -> ``jobs[1].max_delete``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def shown(value: object, limit: int = 60) -> str:
    """A short description of a YAML value for "(got ...)"."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unwrap(tp: object, node: object) -> object:
    """Strip Annotated/Optional and pick the union member that ``node`` (raw YAML) selects."""
    for _ in range(10):
        origin = get_origin(tp)
        if origin is typing.Annotated:
            tp = get_args(tp)[0]
            continue
        if origin is Union or origin is types.UnionType:
            members = [a for a in get_args(tp) if a is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            if len(models) > 1 and isinstance(node, dict):
                kind = node.get("kind")
                picked = [m for m in models if kind in get_args(m.model_fields["kind"].annotation or object)] \
                    if all("kind" in m.model_fields for m in models) else []
                if len(picked) == 1:
                    tp = picked[0]
                    continue
                return None
            if len(members) == 1 or len(models) == 1:
                tp = models[0] if models else members[0]
                continue
            return None
        return tp
    return tp


def model_at(loc: PathKey, raw: object) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc`` in the raw document, if any."""
    tp: object = Manifest
    node = raw
    for part in loc:
        tp = _unwrap(tp, node)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = next((f for n, f in tp.model_fields.items() if (f.alias or n) == part or n == part), None)
            if info is None:
                return None
            tp = info.annotation
            node = node.get(part) if isinstance(node, dict) else None
        elif get_origin(tp) in (tuple, list):
            tp = get_args(tp)[0]
            node = node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
            node = node.get(part) if isinstance(node, dict) else None
        else:
            return None
    tp = _unwrap(tp, node)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def wire_fields(model: type[BaseModel]) -> list[str]:
    """Field names as written in YAML (aliases where they exist)."""
    return [f.alias or n for n, f in model.model_fields.items() if not f.exclude]


def clean_loc(loc: tuple[int | str, ...], raw: object) -> PathKey:
    """Drop the discriminator tag pydantic inserts after ``jobs[i]``."""
    parts: list[str | int] = list(loc)
    if len(parts) >= 3 and parts[0] == "jobs" and isinstance(parts[1], int) and parts[2] in KIND_MODELS:
        del parts[2]
    return tuple(p for p in parts if p != "[key]")


def describe(err: ErrorDetails, raw: object) -> tuple[PathKey, str]:
    """The YAML path and a message for one pydantic error."""
    loc = clean_loc(err["loc"], raw)
    kind = err["type"]
    ctx: dict[str, object] = dict(err.get("ctx") or {})
    value = err.get("input")
    secret = any(isinstance(p, str) and p in SECRET_FIELDS for p in loc)
    got = "" if secret else f" (got {shown(value)})"
    is_key = "[key]" in err["loc"]

    if kind == "extra_forbidden":
        field = str(loc[-1]) if loc else "?"
        model = model_at(loc[:-1], raw)
        if model is None:
            return loc, f"unknown field {field!r}"
        valid = wire_fields(model)
        hint = did_you_mean(field, valid)
        return loc, f"unknown field {field!r}{hint}" + ("" if hint else f" (valid: {', '.join(valid)})")
    if kind == "missing":
        return loc, "required field is missing"
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag", ""))
        return loc + ("kind",), f"unknown kind {tag!r}{did_you_mean(tag, KIND_MODELS)} (valid kinds: {_KINDS})"
    if kind == "union_tag_not_found":
        return loc, f"missing field 'kind' (one of: {_KINDS})"
    if kind == "literal_error":
        hint = ""
        if isinstance(value, str):
            options = [o.strip().strip("'") for o in str(ctx.get("expected", "")).replace(" or ", ", ").split(",")]
            match = closest(value, options)
            hint = f"; did you mean {match!r}?" if match else ""
        expected = str(ctx.get("expected", "")).replace("False", "false").replace("True", "true")
        return loc, f"must be {expected}{got}{hint}"
    bounds = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"),
              "less_than_equal": ("<=", "le"), "less_than": ("<", "lt")}
    if kind in bounds:
        op, key = bounds[kind]
        return loc, f"must be {op} {ctx.get(key)}{got}"
    if kind in ("too_short", "too_long"):
        if isinstance(value, str):
            n = ctx.get("min_length" if kind == "too_short" else "max_length")
            return loc, f"must be {'at least' if kind == 'too_short' else 'at most'} {n} characters{got}"
        if kind == "too_short" and ctx.get("min_length") == 1:
            return loc, "must not be empty"
        n = ctx.get("min_length" if kind == "too_short" else "max_length")
        return loc, f"must have {'at least' if kind == 'too_short' else 'at most'} {n} items"
    if kind == "string_pattern_mismatch":
        what = "key" if is_key else "value"
        return loc, f"invalid {what}{got}: must match {ctx.get('pattern')}"
    simple = {
        "int_type": "must be an integer", "int_parsing": "must be an integer",
        "int_from_float": "must be a whole number", "bool_type": "must be true or false",
        "bool_parsing": "must be true or false", "string_type": "must be a string",
        "float_type": "must be a number", "float_parsing": "must be a number",
        "model_type": "must be a mapping", "model_attributes_type": "must be a mapping",
        "dict_type": "must be a mapping", "tuple_type": "must be a list", "list_type": "must be a list",
        "url_parsing": "must be an http(s) URL", "url_scheme": "must be an http(s) URL",
        "url_type": "must be an http(s) URL", "date_parsing": "must be a date YYYY-MM-DD",
        "date_type": "must be a date YYYY-MM-DD", "date_from_datetime_parsing": "must be a date YYYY-MM-DD",
        "date_from_datetime_inexact": "must be a date YYYY-MM-DD", "path_type": "must be a path",
        "string_too_long": "is too long", "is_instance_of": "has the wrong type",
    }
    if kind == "string_type" and isinstance(value, bool) and not secret:
        return loc, (f"must be a string (got {str(value).lower()}: YAML reads unquoted yes/no/on/off/true/false "
                     "as booleans, so quote it)")
    if kind in simple:
        return loc, simple[kind] + got
    message = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return loc, message[:1].lower() + message[1:] if message[:2] != message[:2].upper() else message
