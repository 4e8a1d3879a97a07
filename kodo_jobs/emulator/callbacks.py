"""Upload callbacks (put policy `callbackUrl`), as Kodo performs them after storing an object.

Kodo POSTs `callbackBody` (magic and `x:` variables filled in) to each `;`-separated
`callbackUrl` in turn, signed `Authorization: QBox <AK>:<sign>` exactly like a client's QBox
request (kodo-protocol.md §2.2), with `callbackHost` as Host. The first 200 answer carrying JSON
is relayed to the uploader; when no URL gives one the upload answers 579 (the object stays
stored, as on the real service). With `callbackFetchKey=1` the answer must be
`{"key": ..., "payload": ...}`: the object is renamed to `key` and `payload` is relayed.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from kodo_jobs.emulator import remote
from kodo_jobs.emulator.errors import CallbackFailed
from kodo_jobs.emulator.jsontypes import JsonMapping
from kodo_jobs.emulator.policy import render_template
from kodo_jobs.emulator.verify import sign

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class CallbackResult:
    """What to relay to the uploader, and the key to rename to (callbackFetchKey)."""

    body: Any
    fetch_key: str | None = None


def render_body(policy: JsonMapping, variables: JsonMapping) -> tuple[bytes, str]:
    """The callback request body (magic and `x:` variables filled in) and its Content-Type."""
    body_type = str(policy.get("callbackBodyType") or FORM)
    template = str(policy.get("callbackBody") or "")
    # The same renderer as returnBody, so both see variables identically.
    if body_type.split(";")[0].strip().lower() == JSON:
        return render_template(template, dict(variables), mode="json").encode(), JSON
    return render_template(template, dict(variables), mode="form").encode(), FORM


def qbox_sign(secret_key: str, url: str, body: bytes, content_type: str) -> str:
    """The QBox signature of a request (§2.2): path?query, newline, form body only."""
    parts = urllib.parse.urlsplit(url)
    data = (parts.path or "/") + (f"?{parts.query}" if parts.query else "") + "\n"
    raw = data.encode() + (body if content_type == FORM and body else b"")
    return sign(secret_key, raw)


def perform(
    policy: JsonMapping, variables: JsonMapping, access_key: str, secret_key: str
) -> CallbackResult:
    """Run the policy's callback; CallbackFailed (579) when every URL fails."""
    urls = [u.strip() for u in str(policy.get("callbackUrl") or "").split(";") if u.strip()]
    if not urls:
        raise CallbackFailed("callbackUrl is empty")
    body, content_type = render_body(policy, variables)
    problems: list[str] = []
    for url in urls:
        headers = {
            "Content-Type": content_type,
            "Authorization": f"QBox {access_key}:{qbox_sign(secret_key, url, body, content_type)}",
            "User-Agent": "kodo-jobs-emulator callback",
        }
        if policy.get("callbackHost"):
            headers["Host"] = str(policy["callbackHost"])
        try:
            answer = remote.post(url, body, headers)
        except remote.RemoteError as exc:
            problems.append(exc.message)
            continue
        if answer.status != 200:
            problems.append(f"{url} answered HTTP {answer.status}")
            continue
        try:
            relayed = json.loads(answer.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            problems.append(f"{url} did not answer JSON")
            continue
        if policy.get("callbackFetchKey"):
            if not isinstance(relayed, dict) or not isinstance(relayed.get("key"), str):
                problems.append(f"{url} answered without the key that callbackFetchKey needs")
                continue
            return CallbackResult(relayed.get("payload"), relayed["key"])
        return CallbackResult(relayed)
    raise CallbackFailed("callback failed: " + "; ".join(problems))
