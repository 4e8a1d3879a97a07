"""Signing: QBox and Qiniu v2 request signatures, upload tokens and the typed put policy.

The signers sign the exact path, query, ``Host`` and body bytes that go on the wire
(kodo-protocol.md §2.4.1). :meth:`Signer.sign` works on those directly; the signers are
``requests`` auth objects, whose ``__call__`` signs the *prepared* request (its final URL,
headers and encoded body) through that method.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .config import Credentials
from .jsontypes import JsonMapping, JsonObject

if TYPE_CHECKING:
    from requests import PreparedRequest

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def urlsafe_b64(data: bytes | str) -> str:
    """URL-safe base64 with ``=`` padding, the encoding Kodo uses everywhere (§2.1)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).decode("ascii")


def encoded_entry(bucket: str, key: str | None = None) -> str:
    """EncodedEntryURI of ``bucket:key`` (or of the bare bucket when ``key`` is None)."""
    return urlsafe_b64(bucket if key is None else f"{bucket}:{key}")


def hmac_sign(secret_key: str, data: bytes | str) -> str:
    """urlsafe-b64(HMAC-SHA1(secret, data)): the signature inside every Kodo token."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    # the one-shot C digest, cheaper than hmac.new(); one token is signed per upload
    # (figures: docs/bench.md)
    return urlsafe_b64(hmac.digest(secret_key.encode("utf-8"), data, "sha1"))


def _body_bytes(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    raise TypeError("only bytes or str bodies can be signed")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """``headers[name]`` ignoring case (``name`` given in lower case); a plain dict has no
    case-insensitive lookup, and callers spell ``Content-Type`` as they like."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def qbox_signing_data(path_query: str, content_type: str | None, body: bytes) -> bytes:
    """The bytes a QBox token signs: ``path[?query]\\n`` plus a form body (§2.2)."""
    data = path_query.encode("utf-8") + b"\n"
    if body and content_type == FORM_CONTENT_TYPE:
        data += body
    return data


def qiniu_signing_data(
    method: str, path_query: str, host: str, content_type: str | None,
    qiniu_headers: Mapping[str, str], body: bytes,
) -> bytes:
    """The bytes a Qiniu v2 token signs (§2.3): request line, Host, Content-Type, X-Qiniu-*, body."""
    text = f"{method.upper()} {path_query}\nHost: {host}"
    if content_type:
        text += f"\nContent-Type: {content_type}"
    lines = sorted(
        (_canonical(name), value) for name, value in qiniu_headers.items()
        if name.lower().startswith("x-qiniu-") and len(name) > len("x-qiniu-")
    )
    if lines:
        text += "\n" + "\n".join(f"{n}: {v}" for n, v in lines)
    text += "\n\n"
    data = text.encode("utf-8")
    if content_type and content_type != "application/octet-stream" and body:
        data += body
    return data


def _canonical(name: str) -> str:
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _path_query(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    path = parts.path or "/"
    return (f"{path}?{parts.query}" if parts.query else path), parts.netloc


class Signer:
    """A request signer: :meth:`sign` gives the headers to add for one request.

    ``__call__`` (the ``requests`` auth protocol: any callable taking and returning the prepared
    request) delegates to :meth:`sign` with the prepared request's method, URL, headers and
    body. Not an ``AuthBase`` subclass, so importing the signers does not import ``requests``.
    """

    def sign(self, method: str, url: str, headers: Mapping[str, str], body: object) -> dict[str, str]:
        """Headers to add to ``method url`` with ``headers`` and ``body`` (bytes, str or None:
        the exact bytes sent) so that it is authorised."""
        raise NotImplementedError

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        r.headers.update(self.sign(r.method or "GET", r.url or "", r.headers, r.body))
        return r


class QBoxAuth(Signer):
    """``Authorization: QBox <AK>:<sign>`` (pfop, prefop and CDN calls, as the SDK does)."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def sign(self, method: str, url: str, headers: Mapping[str, str], body: object) -> dict[str, str]:
        """``Authorization`` over ``path[?query]`` and a form body."""
        path_query, _ = _path_query(url)
        data = qbox_signing_data(path_query, _header(headers, "content-type"), _body_bytes(body))
        sign = hmac_sign(self._credentials.secret_key, data)
        return {"Authorization": f"QBox {self._credentials.access_key}:{sign}"}


TIMESTAMP_ENV = "DISABLE_QINIU_TIMESTAMP_SIGNATURE"


def timestamp_signing(setting: bool | None) -> bool:
    """Whether Qiniu-signed requests carry ``X-Qiniu-Date``: ``setting`` when given, else on
    unless ``DISABLE_QINIU_TIMESTAMP_SIGNATURE`` is ``true`` (the official SDK's switch)."""
    if setting is not None:
        return setting
    return os.environ.get(TIMESTAMP_ENV, "").lower() != "true"


class QiniuAuth(Signer):
    """``Authorization: Qiniu <AK>:<sign>`` with an ``X-Qiniu-Date`` header (rs, rsf, io, uc).

    ``timestamp``: send and sign ``X-Qiniu-Date``; None (the default) follows the official SDK:
    on unless the environment sets ``DISABLE_QINIU_TIMESTAMP_SIGNATURE=true`` (any case).
    ``clock`` returns the current UTC time; tests fix it to compare with the SDK.
    """

    def __init__(
        self, credentials: Credentials, *, timestamp: bool | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._credentials = credentials
        self._timestamp = timestamp_signing(timestamp)
        self._clock = clock or (lambda: datetime.now(UTC))

    @property
    def sends_date(self) -> bool:
        """True when signed requests carry ``X-Qiniu-Date``."""
        return self._timestamp

    def sign(self, method: str, url: str, headers: Mapping[str, str], body: object) -> dict[str, str]:
        """``X-Qiniu-Date`` (when timestamping) and ``Authorization`` over the request line,
        ``Host``, ``Content-Type``, the ``X-Qiniu-*`` headers (the new date included) and body."""
        added: dict[str, str] = {}
        signed: dict[str, str] = dict(headers)
        if self._timestamp:
            date = self._clock().strftime("%Y%m%dT%H%M%SZ")
            added["X-Qiniu-Date"] = date
            for key in [k for k in signed if k.lower() == "x-qiniu-date"]:
                del signed[key]
            signed["X-Qiniu-Date"] = date
        path_query, netloc = _path_query(url)
        host = _header(headers, "host") or netloc
        data = qiniu_signing_data(method or "GET", path_query, host, _header(headers, "content-type"),
                                  signed, _body_bytes(body))
        added["Authorization"] = (f"Qiniu {self._credentials.access_key}:"
                                  f"{hmac_sign(self._credentials.secret_key, data)}")
        return added


class UpTokenAuth(Signer):
    """``Authorization: UpToken <token>`` for resumable upload calls."""

    def __init__(self, token: str) -> None:
        self._token = token

    def sign(self, method: str, url: str, headers: Mapping[str, str], body: object) -> dict[str, str]:
        """The token as it is: nothing of the request is signed."""
        return {"Authorization": f"UpToken {self._token}"}


# python attribute name -> wire (camelCase) name, in the order they are serialised
_WIRE: dict[str, str] = {
    "scope": "scope",
    "deadline": "deadline",
    "is_prefixal_scope": "isPrefixalScope",
    "insert_only": "insertOnly",
    "end_user": "endUser",
    "return_url": "returnUrl",
    "return_body": "returnBody",
    "callback_url": "callbackUrl",
    "callback_host": "callbackHost",
    "callback_body": "callbackBody",
    "callback_body_type": "callbackBodyType",
    "callback_fetch_key": "callbackFetchKey",
    "persistent_ops": "persistentOps",
    "persistent_notify_url": "persistentNotifyUrl",
    "persistent_pipeline": "persistentPipeline",
    "persistent_type": "persistentType",
    "persistent_workflow_template_id": "persistentWorkflowTemplateID",
    "force_save_key": "forceSaveKey",
    "save_key": "saveKey",
    "fsize_min": "fsizeMin",
    "fsize_limit": "fsizeLimit",
    "detect_mime": "detectMime",
    "mime_limit": "mimeLimit",
    "file_type": "fileType",
    "delete_after_days": "deleteAfterDays",
    "traffic_limit": "trafficLimit",
    "keylimit": "keylimit",
    "transform": "transform",
    "transform_fallback_key": "transformFallbackKey",
    "transform_fallback_mode": "transformFallbackMode",
}
_FROM_WIRE = {wire: attr for attr, wire in _WIRE.items()}


@dataclass(frozen=True, slots=True)
class PutPolicy:
    """Every put-policy field of kodo-protocol.md §2.5; ``None`` means "not sent".

    Without ``scope``/``deadline`` it is a template: :meth:`bind` fills them per object key.
    Unlike the SDK's strict whitelist, nothing set here is silently dropped (``trafficLimit``
    included).
    """

    scope: str | None = None
    deadline: int | None = None
    is_prefixal_scope: int | None = None
    insert_only: int | None = None
    end_user: str | None = None
    return_url: str | None = None
    return_body: str | None = None
    callback_url: str | None = None
    callback_host: str | None = None
    callback_body: str | None = None
    callback_body_type: str | None = None
    callback_fetch_key: int | None = None
    persistent_ops: str | None = None
    persistent_notify_url: str | None = None
    persistent_pipeline: str | None = None
    persistent_type: int | None = None
    persistent_workflow_template_id: str | None = None
    force_save_key: bool | None = None
    save_key: str | None = None
    fsize_min: int | None = None
    fsize_limit: int | None = None
    detect_mime: int | None = None
    mime_limit: str | None = None
    file_type: int | None = None
    delete_after_days: int | None = None
    traffic_limit: int | None = None
    keylimit: tuple[str, ...] | None = None
    transform: str | None = None
    transform_fallback_key: str | None = None
    transform_fallback_mode: str | None = None
    # wire names in the order the caller gave them (from_mapping): the token signs the JSON
    # bytes, so keeping the caller's order makes our tokens byte-identical to the SDK's
    field_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_mapping(cls, mapping: JsonMapping) -> PutPolicy:
        """Build from a dict with camelCase wire names (or the snake_case attribute names).

        Unknown names raise ``ValueError`` (a typo in a manifest must not vanish silently).
        """
        kwargs: JsonObject = {}  # JSON names -> field values, checked by the dataclass
        for name, value in mapping.items():
            attr = _FROM_WIRE.get(name, name if name in _WIRE else None)
            if attr is None:
                raise ValueError(f"unknown put-policy field {name!r}")
            if attr == "keylimit" and value is not None:
                value = tuple(value)
            kwargs[attr] = value
        kwargs["field_order"] = tuple(kwargs)
        return cls(**kwargs)

    def to_dict(self) -> JsonObject:
        """The wire dict (camelCase names, unset fields left out): scope, deadline, then the
        fields in the order given to :meth:`from_mapping`, then the rest in declaration order."""
        out: JsonObject = {}
        names = ["scope", "deadline", *self.field_order, *(f.name for f in fields(self))]
        for name in names:
            if name == "field_order" or _WIRE[name] in out:
                continue
            value = getattr(self, name)
            if value is not None:
                out[_WIRE[name]] = list(value) if isinstance(value, tuple) else value
        return out

    def to_json(self) -> str:
        """Compact JSON, as the SDK serialises it (the token signs these exact bytes)."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def bind(self, bucket: str, key: str | None, *, ttl: int, now: float | None = None) -> PutPolicy:
        """A copy for one upload: scope ``bucket:key`` (or ``bucket``) and deadline now+ttl."""
        scope, deadline = _scope_and_deadline(bucket, key, ttl, now)
        return replace(self, scope=scope, deadline=deadline)


def _scope_and_deadline(bucket: str, key: str | None, ttl: int, now: float | None) -> tuple[str, int]:
    """An upload's scope (``bucket:key`` or ``bucket``) and deadline (now + ttl)."""
    if not bucket:
        raise ValueError("bucket must be non-empty")
    if ttl <= 0:
        raise ValueError("token ttl must be positive")
    # a client passes ``now`` from its DeadlineSlack: a measured skew widens the deadline (clock.py)
    current = time.time() if now is None else now
    return (bucket if key is None else f"{bucket}:{key}"), int(current) + ttl


def upload_token(credentials: Credentials, policy: PutPolicy) -> str:
    """``AK:sign:encodedPolicy`` for a bound policy (scope and deadline set)."""
    if not policy.scope or policy.deadline is None:
        raise ValueError("the put policy needs scope and deadline: call bind() first")
    encoded = urlsafe_b64(policy.to_json())
    return f"{credentials.access_key}:{hmac_sign(credentials.secret_key, encoded)}:{encoded}"


_TAILS: dict[tuple[PutPolicy, tuple[str, ...]], str] = {}
_TAILS_LOCK = threading.Lock()


def _policy_tail(template: PutPolicy) -> str:
    """``,"name":value...`` of a template's fields other than scope and deadline, exactly as
    :meth:`PutPolicy.to_json` writes them after those two. Cached by value (callers may build
    an equal template per file); ``field_order`` is part of the key as it orders the JSON."""
    cache_key = (template, template.field_order)
    found = _TAILS.get(cache_key)
    if found is not None:
        return found
    rest = {k: v for k, v in template.to_dict().items() if k not in ("scope", "deadline")}
    tail = "," + json.dumps(rest, separators=(",", ":"))[1:-1] if rest else ""
    with _TAILS_LOCK:
        if len(_TAILS) > 256:  # templates are few; a churn of distinct ones must not grow this
            _TAILS.clear()
        _TAILS[cache_key] = tail
    return tail


def mint_upload_token(credentials: Credentials, template: PutPolicy, bucket: str, key: str | None, *,
                      ttl: int, now: float | None = None) -> str:
    """``upload_token(credentials, template.bind(bucket, key, ttl=ttl, now=now))``, byte for
    byte, but faster: the template's other fields are serialised once, not per upload (a
    fresh sync of small files mints one token per file; figures: docs/bench.md)."""
    scope, deadline = _scope_and_deadline(bucket, key, ttl, now)
    text = f'{{"scope":{json.dumps(scope)},"deadline":{deadline}{_policy_tail(template)}}}'
    encoded = urlsafe_b64(text)
    return f"{credentials.access_key}:{hmac_sign(credentials.secret_key, encoded)}:{encoded}"


def bucket_of_token(token: str) -> str:
    """The bucket named by an upload token's scope (text before the first ``:``)."""
    try:
        encoded = token.split(":")[2]
        padded = encoded + "=" * (-len(encoded) % 4)
        policy = json.loads(base64.urlsafe_b64decode(padded))
        return str(policy["scope"]).split(":", 1)[0]
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise ValueError("not an upload token") from exc
