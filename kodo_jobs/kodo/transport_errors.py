"""A request that got no HTTP answer, told as its cause.

``requests`` wraps the real cause several layers deep (``ConnectionError`` -> urllib3
``MaxRetryError`` -> ``NewConnectionError`` -> ``socket.gaierror``); "no answer:
ConnectionError" after six retries hides whether the name did not resolve, the port was closed,
the certificate was not trusted or a proxy said no. :func:`transport_error` walks that chain and
returns the :class:`~kodo_jobs.kodo.errors.KodoError` that names the cause, e.g.::

    cannot resolve nonexistent.invalid
    connection refused (127.0.0.1:9)
    TLS verification failed for up.qiniup.com: certificate verify failed: unable to get local
      issuer certificate; to trust a private CA set target.ca_bundle or REQUESTS_CA_BUNDLE
    proxy http://127.0.0.1:3128 refused CONNECT to rs.qiniuapi.com:443: 403 Forbidden
    timed out after 10 s connecting to 10.0.0.1:443

A certificate that is not trusted and a proxy that refuses the tunnel are run-fatal (no retry
of any request can pass them); the others are retryable transport errors.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

from . import errors
from .network import mask_url_credentials

CA_HINT = "to trust a private CA set target.ca_bundle (or REQUESTS_CA_BUNDLE / SSL_CERT_FILE) to its PEM file"
_TUNNEL = re.compile(r"Tunnel connection failed: (\d{3})\s*([^'\"\)]*)")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps (``reason``, exception ``args``, cause, context)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        todo.extend(a for a in current.args if isinstance(a, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)


def _host_port(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return host, f"{host}:{port}"


def _first(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> BaseException | None:
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def transport_error(exc: BaseException, *, method: str, url: str, safe_url: str, proxy: str | None,
                    timeouts: tuple[float, float]) -> errors.KodoError:
    """The ``KodoError`` for a ``requests`` exception raised while sending ``method url``
    (``proxy``: the proxy the request went through, if any; ``safe_url``: ``url`` redacted)."""
    cls, message = _cause(exc, url, proxy, timeouts)
    return cls(message, method=method, url=safe_url)


def _cause(exc: BaseException, url: str, proxy: str | None,
           timeouts: tuple[float, float]) -> tuple[type[errors.KodoError], str]:
    """The error class and the message that names what went wrong."""
    from requests import exceptions as rq
    from urllib3 import exceptions as u3

    host, host_port = _host_port(url)
    via = f" through proxy {mask_url_credentials(proxy)}" if proxy else ""
    texts = " | ".join(str(e) for e in _chain(exc))

    tunnel = _TUNNEL.search(texts)
    if tunnel is not None and proxy:
        status, reason = tunnel.group(1), tunnel.group(2).strip()
        refusal = f"proxy {mask_url_credentials(proxy)} refused CONNECT to {host_port}: {status} {reason}"
        return errors.ProxyRefused, refusal.rstrip()
    verify = _first(exc, ssl.SSLCertVerificationError)
    if verify is not None:
        detail = getattr(verify, "verify_message", "") or str(verify)
        return errors.TlsUntrusted, f"TLS verification failed for {host}{via}: {detail}; {CA_HINT}"
    connect_timeout = next((e for e in _chain(exc) if isinstance(e, u3.ConnectTimeoutError)
                            and not isinstance(e, u3.NewConnectionError)), None)  # urllib3: a subclass
    if isinstance(exc, rq.ConnectTimeout) or connect_timeout is not None:
        if isinstance(exc, rq.ProxyError) or (proxy and _first(exc, u3.ProxyError) is not None):
            return errors.RequestTimeout, (f"timed out after {timeouts[0]:g} s connecting to proxy "
                                           f"{mask_url_credentials(proxy or '')}")
        return errors.RequestTimeout, f"timed out after {timeouts[0]:g} s connecting to {host_port}{via}"
    if isinstance(exc, rq.ReadTimeout) or _first(exc, (u3.ReadTimeoutError, TimeoutError)) is not None:
        return errors.RequestTimeout, f"timed out after {timeouts[1]:g} s waiting for {host_port}{via} to answer"
    if proxy and (isinstance(exc, rq.ProxyError) or _first(exc, u3.ProxyError) is not None):
        refused = _first(exc, ConnectionRefusedError) is not None or "refused" in texts
        cause = "connection refused" if refused else _last_words(exc)
        return errors.TransportError, f"cannot reach proxy {mask_url_credentials(proxy)}: {cause}"
    if _first(exc, socket.gaierror) is not None or _first(exc, u3.NameResolutionError) is not None:
        return errors.TransportError, f"cannot resolve {host}"
    if _first(exc, ConnectionRefusedError) is not None or "Connection refused" in texts:
        return errors.TransportError, f"connection refused ({host_port})"
    if _first(exc, (ssl.SSLError, u3.SSLError)) is not None:
        return errors.TransportError, f"TLS handshake with {host}{via} failed: {_last_words(exc)}"
    return errors.TransportError, f"connection to {host_port}{via} lost: {_last_words(exc)}"


def _last_words(exc: BaseException) -> str:
    """The innermost exception of the chain, as ``Type: message`` (credentials masked)."""
    inner = list(_chain(exc))[-1]
    text = str(inner) or type(inner).__name__
    return mask_url_credentials(f"{type(inner).__name__}: {text}" if str(inner) else text)


__all__ = ["CA_HINT", "transport_error"]
