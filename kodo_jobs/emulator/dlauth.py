"""Download authorisation: private-bucket URLs (`e`/`token`) and timestamp anti-leech (`sign`/`t`).

Both are checked against the URL exactly as the client sent it (scheme, the Host header, the
raw request target), never against a decoded or re-encoded form: that is what the client
signed (kodo-protocol.md §2.7, §2.8). Pure functions; the download handler maps a `False`
answer to 401 (private) or 403 (anti-leech).
"""

from __future__ import annotations

import hashlib
import time
import urllib.parse

from kodo_jobs.emulator.verify import same_secret, sign


def private_url_problem(
    scheme: str, host: str, raw_target: str, access_key: str, secret_key: str,
    now: float | None = None,
) -> str | None:
    """Why a private download URL is refused, or None when its token is valid.

    The token is the last `token=` parameter; everything before `&token=` was signed.
    """
    cut = raw_target.rfind("&token=")
    if cut < 0:
        return "download token not specified"
    signed = f"{scheme}://{host}{raw_target[:cut]}"
    token = urllib.parse.unquote(raw_target[cut + len("&token="):].split("&", 1)[0])
    ak, sep, given = token.partition(":")
    if not sep or ak != access_key:
        return "bad token"
    query = urllib.parse.urlsplit(signed).query
    deadline = urllib.parse.parse_qs(query).get("e", [""])[-1]
    if not deadline.isdigit():
        return "bad token: e is missing"
    if not same_secret(sign(secret_key, signed.encode()), given):
        return "bad token"
    if int(deadline) < (time.time() if now is None else now):
        return "token out of date"
    return None


def anti_leech_problem(
    raw_path: str, query: str, key: str, alt_paths: tuple[str, ...] = (), now: float | None = None
) -> str | None:
    """Why a timestamp anti-leech URL is refused, or None when `sign`/`t` are valid.

    `raw_path` is the percent-encoded request path; `alt_paths` are other spellings of the
    same resource that a client may have signed (the emulator serves `/dl/<bucket>/<key>`,
    while a CDN domain would expose `/<key>`).
    """
    params = urllib.parse.parse_qs(query)
    given, t = params.get("sign", [""])[-1], params.get("t", [""])[-1]
    if not given or not t:
        return "anti-leech sign and t are required"
    try:
        deadline = int(t, 16)
    except ValueError:
        return "anti-leech t is not hex"
    candidates = (raw_path, *alt_paths)
    if not any(
        same_secret(hashlib.md5(f"{key}{p}{t}".encode()).hexdigest(), given.lower())
        for p in candidates
    ):
        return "anti-leech sign does not match"
    if deadline < (time.time() if now is None else now):
        return "anti-leech link expired"
    return None
