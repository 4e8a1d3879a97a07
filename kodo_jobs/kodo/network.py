"""Where requests go and whom they trust: the proxy for a URL and the CA bundle.

Proxies. By default the environment decides, as ``requests`` decides: ``HTTP_PROXY`` /
``HTTPS_PROXY`` / ``ALL_PROXY`` (either case) name the proxy of a scheme and ``NO_PROXY`` the
hosts that bypass it (``requests.utils.get_environ_proxies``). On Linux nothing else bypasses a
proxy: ``localhost`` and ``127.0.0.1`` go through it too unless ``NO_PROXY`` names them (urllib
consults no system setting there), exactly as ``requests`` and curl behave. An explicit
``proxy`` (``target.proxy`` in a manifest) replaces the environment entirely, ``NO_PROXY``
included: every request goes through it. ``direct=True`` (the embedded emulator, which lives in
this process) never uses a proxy.

Only proxies are taken from the environment: the session keeps ``trust_env=False`` so that a
``~/.netrc`` entry can never add ``Authorization`` to a download or an upload (Kodo requests
carry their own signatures; a silently injected Basic header would be sent to Kodo's hosts).

Trust. ``ca_bundle`` (``target.ca_bundle``), else ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` or
``SSL_CERT_FILE`` (the first that is set and not empty), else certifi's bundle. Certificate
verification is always on; no setting turns it off.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

CA_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
"""Environment variables naming a CA bundle, in the order they are read."""

_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s@\"'<>]+@")
"""The ``user:password@`` part of a URL (RFC 3986 userinfo: no ``/ ? # @`` inside)."""


def mask_url_credentials(text: str) -> str:
    """``http://admin:pw@host/x`` -> ``http://***@host/x``: the whole userinfo of every URL in
    ``text`` is masked (a lone user name is often a token: ``https://TOKEN@host``). The one
    masker: ``kodo_jobs.log.redact_text`` applies it to every log line, report and message, and
    the transport to the proxy URLs it names in errors."""
    return _URL_USERINFO.sub(lambda m: m.group(1) + "***@", text) if "@" in text else text


def url_credentials(url: str) -> tuple[str, ...]:
    """The user name and password written in ``url`` (to register with a log redactor)."""
    parts = urlsplit(url)
    return tuple(v for v in (parts.username, parts.password) if v)


def check_proxy_url(url: str) -> str:
    """``url`` if it names a usable proxy (``http://`` or ``https://`` with a host), else ValueError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("a proxy URL is http://[user:password@]host:port (or https://)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("a proxy URL has no path or query")
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


@dataclass(frozen=True, slots=True)
class Network:
    """The proxy and trust settings of one client (immutable; see the module docstring)."""

    proxy: str | None = None
    """One proxy for every request (replaces the environment's proxy settings)."""
    ca_bundle: str | None = None
    """PEM file of the CAs to trust (replaces the environment's and certifi's)."""
    direct: bool = False
    """Never use a proxy, whatever the environment says (the in-process emulator)."""

    def __post_init__(self) -> None:
        if self.proxy is not None:
            object.__setattr__(self, "proxy", check_proxy_url(self.proxy))

    def proxies_for(self, url: str) -> dict[str, str]:
        """The ``requests`` ``proxies`` mapping for a request to ``url`` (empty: direct)."""
        if self.direct:
            return {}
        scheme = urlsplit(url).scheme.lower()
        if self.proxy is not None:
            return {scheme: self.proxy}
        from requests.utils import get_environ_proxies

        found = get_environ_proxies(url)  # honours NO_PROXY / no_proxy
        proxy = found.get(scheme) or found.get("all")
        return {scheme: proxy} if proxy else {}

    def verify(self) -> str:
        """The CA bundle path every https request is verified against (never "don't verify")."""
        if self.ca_bundle:
            return self.ca_bundle
        for name in CA_ENV:
            value = os.environ.get(name)
            if value:
                return value
        from requests.utils import DEFAULT_CA_BUNDLE_PATH

        return str(DEFAULT_CA_BUNDLE_PATH)


__all__ = ["CA_ENV", "Network", "check_proxy_url", "mask_url_credentials", "url_credentials"]
