"""Signature and upload-token verification, written from the protocol, not from ``kodo/``.

The emulator deliberately shares no signing code with the client (a bug shared by signer and
verifier would pass silently); both are checked against the official SDK in tests instead.

* QBox:  ``Authorization: QBox AK:sign``, sign = b64(HMAC-SHA1(SK, path?query + "\\n" [+ form body])).
* Qiniu: ``Authorization: Qiniu AK:sign`` over ``METHOD path?query\\nHost: h[\\nContent-Type: ct]
  [\\nX-Qiniu-*: v ...]\\n\\n[body]`` (body unless no Content-Type or octet-stream).
* Upload token ``AK:sign:encodedPolicy``, sign over the encoded policy exactly as sent.
* Private download URLs ``...?e=<deadline>&token=AK:sign`` (sign over the URL up to the ``e``).
* CDN timestamp anti-leech ``sign=md5(key + path + hex(t))&t=hex(deadline)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request

from kodo_jobs.emulator.errors import BadRequest, Forbidden, Unauthorized
from kodo_jobs.emulator.jsontypes import JsonObject

FORM_TYPE = "application/x-www-form-urlencoded"


def b64decode(text: str) -> bytes:
    """URL-safe base64 decode that accepts missing padding; ``BadRequest`` on garbage."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("invalid base64 value") from exc


def b64decode_str(text: str) -> str:
    """URL-safe base64 of UTF-8 text."""
    try:
        return b64decode(text).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("invalid utf-8 value") from exc


def decode_entry(encoded: str) -> tuple[str, str | None]:
    """EncodedEntryURI -> (bucket, key or None); splits on the first ``:``."""
    entry = b64decode_str(encoded)
    bucket, sep, key = entry.partition(":")
    if not bucket:
        raise BadRequest("invalid entry")
    return bucket, (key if sep else None)


def sign(secret_key: str, data: bytes) -> str:
    """URL-safe base64 of HMAC-SHA1(secret_key, data)."""
    digest = hmac.new(secret_key.encode("utf-8"), data, hashlib.sha1).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def same_secret(expected: str, given: str) -> bool:
    """Constant-time comparison of a computed signature with one a client sent. Why bytes:
    ``hmac.compare_digest`` raises ``TypeError`` on non-ASCII ``str`` (a crafted signature
    answered 599, which clients retry); any character simply makes the comparison fail."""
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass"))



def request_target(request: Request) -> str:
    """The raw request target (path + ``?`` + query) as the client sent and signed it."""
    raw = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
    if raw:
        if raw.startswith(("http://", "https://")):  # absolute-form target
            raw = "/" + raw.split("/", 3)[3] if raw.count("/") >= 3 else "/"
        return str(raw)
    path = quote(request.environ.get("PATH_INFO", "") or "/", safe="/;=,:@!$&'()*+~")
    qs = request.environ.get("QUERY_STRING", "")
    return path + ("?" + qs if qs else "")


def qbox_data(target: str, content_type: str, body: bytes) -> bytes:
    """What a QBox token signs."""
    data = target.encode("latin-1", "replace") + b"\n"
    if content_type == FORM_TYPE and body:
        data += body
    return data


def qiniu_data(method: str, target: str, host: str, content_type: str,
               qiniu_headers: list[tuple[str, str]], body: bytes) -> bytes:
    """What a Qiniu (v2) token signs."""
    text = f"{method.upper()} {target}\nHost: {host}"
    if content_type:
        text += f"\nContent-Type: {content_type}"
    if qiniu_headers:
        text += "\n" + "\n".join(f"{k}: {v}" for k, v in sorted(qiniu_headers))
    text += "\n\n"
    data = text.encode("latin-1", "replace")
    if content_type and content_type != "application/octet-stream" and body:
        data += body
    return data


def _canonical(name: str) -> str:
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


def verify_management(request: Request, access_key: str, secret_key: str, body: bytes) -> str:
    """Check a QBox or Qiniu ``Authorization`` header; returns the scheme or raises 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, cred = header.partition(" ")
    ak, _, signature = cred.strip().partition(":")
    if scheme not in ("QBox", "Qiniu") or not ak or not signature:
        raise Unauthorized("bad token")
    if ak != access_key:
        raise Unauthorized("bad token")
    target = request_target(request)
    content_type = request.headers.get("Content-Type", "")
    if scheme == "QBox":
        expected = sign(secret_key, qbox_data(target, content_type, body))
    else:
        xq = [(_canonical(k), v) for k, v in request.headers.items()
              if k.lower().startswith("x-qiniu-") and len(k) > len("x-qiniu-")]
        expected = sign(secret_key, qiniu_data(request.method, target, request.headers.get("Host", ""),
                                               content_type, xq, body))
    if not same_secret(expected, signature):
        raise Unauthorized("bad token")
    return scheme


@dataclass(frozen=True)
class PutPolicy:
    """A verified upload token's policy (the raw JSON fields, plus parsed scope)."""

    raw: JsonObject
    bucket: str
    scope_key: str | None

    def get(self, name: str, default: Any = None) -> Any:
        """A policy field, or ``default`` when absent or null."""
        value = self.raw.get(name)
        return default if value is None else value

    def int_field(self, name: str, default: int = 0) -> int:
        """An integer policy field (``BadRequest`` when it is not a number)."""
        value = self.get(name, default)
        if isinstance(value, bool):
            return int(value)
        if not isinstance(value, int):
            raise BadRequest(f"invalid put policy field {name}")
        return value

    @property
    def deadline(self) -> int:
        """Unix seconds after which the token is refused at upload completion."""
        return self.int_field("deadline")

    @property
    def prefixal(self) -> bool:
        """``isPrefixalScope``: the key part of scope is a prefix."""
        return self.int_field("isPrefixalScope") == 1


def parse_upload_token(token: str, access_key: str, secret_key: str) -> PutPolicy:
    """Verify an upload token and decode its policy; 401 when missing, malformed or forged."""
    if not token:
        raise Unauthorized("token not specified")
    parts = token.strip().split(":")
    if len(parts) != 3 or not all(parts):
        raise Unauthorized("bad token")
    ak, signature, encoded = parts
    if ak != access_key or not same_secret(sign(secret_key, encoded.encode("ascii", "replace")), signature):
        raise Unauthorized("bad token")
    try:
        raw = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise Unauthorized("bad token") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("scope"), str) or not raw["scope"]:
        raise Unauthorized("bad token")
    if not isinstance(raw.get("deadline"), int):
        raise Unauthorized("bad token")
    bucket, sep, key = raw["scope"].partition(":")
    return PutPolicy(raw=raw, bucket=bucket, scope_key=key if sep else None)


def upload_token_from_header(request: Request) -> str:
    """The token of ``Authorization: UpToken <token>`` (401 when missing)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme != "UpToken" or not token.strip():
        raise Unauthorized("token not specified")
    return token.strip()


def verify_private_url(url_without_token: str, token: str, access_key: str, secret_key: str, now: float) -> None:
    """Check a private download URL: ``url_without_token`` ends with ``e=<deadline>`` and
    ``token`` is ``AK:sign`` over exactly that string; 401 when wrong or expired."""
    ak, _, signature = token.partition(":")
    if ak != access_key or not same_secret(sign(secret_key, url_without_token.encode("utf-8")), signature):
        raise Unauthorized("bad token")
    _, _, e = url_without_token.rpartition("e=")
    try:
        deadline = int(e)
    except ValueError as exc:
        raise Unauthorized("bad token") from exc
    if deadline < now:
        raise Unauthorized("token out of date")


def verify_anti_leech(path: str, sign_param: str, t_param: str, key: str, now: float) -> None:
    """Check a CDN timestamp anti-leech signature (``path`` percent-encoded as sent); 403."""
    try:
        deadline = int(t_param, 16)
    except ValueError as exc:
        raise Forbidden("invalid anti-leech timestamp") from exc
    expected = hashlib.md5((key + path + t_param).encode("utf-8")).hexdigest()
    if not same_secret(expected, sign_param.lower()):
        raise Forbidden("invalid anti-leech signature")
    if deadline < now:
        raise Forbidden("anti-leech link expired")
