"""Clock skew between this machine and Kodo, and the slack it adds to signed deadlines.

Upload tokens and private download URLs carry an absolute deadline computed from the local
clock; Kodo checks it against its own. A local clock minutes behind makes a short-lived token
look expired to the server (401 "token out of date") although it was just signed.

:func:`watch_first_response` reads the ``Date`` header of the first answer the run gets anyway
(no extra request); :func:`measure_skew` asks explicitly with one ``GET /``. Both give
``server time - local time`` in seconds at the middle of the round trip (the header has
one-second resolution). A :class:`DeadlineSlack` holds how many seconds every deadline a
client signs afterwards gets on top of its ttl; each ``KodoClient`` owns one (``client.slack``),
read by its upload-token minting and URL signing, so two clients in one process never share it.
The run sets it to the skew's magnitude when that exceeds :data:`SKEW_WARN_SECONDS`, so tokens
stay valid on both clocks.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .http import HttpClient

if TYPE_CHECKING:
    import requests

SKEW_WARN_SECONDS = 60.0
"""Above this difference the run warns and widens deadlines."""



class DeadlineSlack:
    """Extra seconds added to every deadline one client signs (0 = none).

    State of one client, not of the process: a run that measured a skew on its target widens
    only the deadlines of that target's client.
    """

    __slots__ = ("_lock", "_seconds")

    def __init__(self) -> None:
        self._seconds = 0
        self._lock = threading.Lock()

    def set(self, skew: float) -> None:
        """Widen later deadlines to cover a measured ``skew`` in seconds (0 resets)."""
        with self._lock:  # + the Date header's 1 s resolution and the round trip
            self._seconds = int(abs(skew)) + 5 if skew else 0

    @property
    def seconds(self) -> int:
        """The current extra seconds for signed deadlines."""
        return self._seconds

    def now(self) -> float:
        """The local time plus the slack: the instant signed deadlines are counted from."""
        return time.time() + self._seconds


def measure_skew(http: HttpClient, base_url: str) -> float | None:
    """``server - local`` seconds from the ``Date`` of ``GET <base_url>/``; None when unknown."""
    from .errors import KodoError

    connect, read = http.timeouts.as_tuple()
    try:  # a probe: never hold the run's start for long
        resp = http.stream("GET", base_url.rstrip("/") + "/", timeouts=(min(connect, 5.0), min(read, 5.0)))
    except KodoError:
        return None
    resp.close()
    return skew_from_response(resp)


def skew_from_response(resp: requests.Response, received: float | None = None) -> float | None:
    """``server - local`` seconds from a response's ``Date`` (None without a usable one)."""
    return skew_from_headers(resp.headers, resp.elapsed.total_seconds(), received)


def skew_from_headers(headers: Mapping[str, str], elapsed: float, received: float | None = None) -> float | None:
    """``server - local`` seconds from an answer's ``Date`` header, taken as the middle of a
    round trip of ``elapsed`` seconds that ended at ``received`` (default: now)."""
    header = headers.get("Date")
    if not header:
        return None
    try:
        server = email.utils.parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return None
    now = time.time() if received is None else received
    return server - (now - elapsed / 2)


def watch_first_response(http: HttpClient, on_skew: Callable[[float], None]) -> None:
    """Call ``on_skew(skew)`` once, from the first answer ``http`` gets with a ``Date``.

    Costs no request: the run's first real call (usually the listing, which comes before any
    token is signed) carries the measurement. The observer removes itself once it has fired.
    """
    fired = threading.Event()

    def observer(headers: Mapping[str, str], elapsed: float) -> None:
        if not fired.is_set():
            skew = skew_from_headers(headers, elapsed)
            if skew is not None and not fired.is_set():
                fired.set()
                http.unobserve(observer)
                on_skew(skew)

    http.observe(observer)


__all__ = ["SKEW_WARN_SECONDS", "DeadlineSlack", "measure_skew"]
