"""Download URLs: public, private (``e``/``token``) and CDN timestamp anti-leech (``sign``/``t``)."""

from __future__ import annotations

import hashlib
import time
from urllib.parse import quote

from .auth import hmac_sign
from .clock import DeadlineSlack
from .config import Credentials


def public_url(base_url: str, key: str) -> str:
    """``<base_url>/<percent-encoded key>`` (``/`` kept), the URL of an object on a domain."""
    return f"{base_url.rstrip('/')}/{quote(key, safe='/')}"


def private_download_url(
    credentials: Credentials, url: str, *, expires: int = 3600, now: float | None = None,
) -> str:
    """Sign ``url`` for a private bucket: append ``e=<deadline>`` then ``token=<AK>:<sign>`` (§2.7)."""
    if expires <= 0:
        raise ValueError("expires must be positive")
    deadline = int(time.time() if now is None else now) + expires
    signed = f"{url}{'&' if '?' in url else '?'}e={deadline}"
    return f"{signed}&token={credentials.access_key}:{hmac_sign(credentials.secret_key, signed)}"


def timestamp_antileech_url(
    host: str, file_name: str, encrypt_key: str, deadline: int, query: str = "",
) -> str:
    """CDN timestamp anti-leech URL (§2.8): ``sign = md5(key + path + hex(deadline))``.

    ``host`` includes the scheme; ``file_name`` and ``query`` are given unencoded.
    """
    if not encrypt_key:
        raise ValueError("the anti-leech key must be non-empty")
    path = "/" + quote(file_name, safe="/")
    t = format(deadline, "x")
    sign = hashlib.md5(f"{encrypt_key}{path}{t}".encode()).hexdigest()
    base = f"{host}{path}"
    return f"{base}?{query}&sign={sign}&t={t}" if query else f"{base}?sign={sign}&t={t}"


class UrlSigner:
    """``client.urls``: the URL helpers bound to the client's credentials and deadline slack."""

    def __init__(self, credentials: Credentials, slack: DeadlineSlack | None = None) -> None:
        self._credentials = credentials
        self._slack = slack or DeadlineSlack()

    def public(self, base_url: str, key: str) -> str:
        """See :func:`public_url`."""
        return public_url(base_url, key)

    def private(self, url: str, *, expires: int = 3600, now: float | None = None) -> str:
        """See :func:`private_download_url`."""
        return private_download_url(self._credentials, url, expires=expires,
                                    now=self._slack.now() if now is None else now)

    def private_object(
        self, base_url: str, key: str, *, expires: int = 3600, now: float | None = None,
    ) -> str:
        """A signed private URL for ``key`` on ``base_url``."""
        return self.private(public_url(base_url, key), expires=expires, now=now)

    @staticmethod
    def antileech(host: str, file_name: str, encrypt_key: str, deadline: int, query: str = "") -> str:
        """See :func:`timestamp_antileech_url`."""
        return timestamp_antileech_url(host, file_name, encrypt_key, deadline, query)
