"""Send the run summary to the manifest's ``notify:`` webhook (on failure, or always).

A failed cron run should reach a person without anyone reading logs. Three promises:

* bounded: the whole notification (every try, every wait) runs in a daemon thread that the
  caller waits for at most ``timeout`` seconds; a slow or dead receiver can delay the exit code
  by that much and no more (the thread is abandoned, never joined after the deadline);
* retried: connection errors, timeouts and 5xx/429 answers are tried again with tenacity's
  jittered backoff while attempts and time are left; a 4xx is final (the receiver said no);
* secret: the URL is a ``SecretStr`` in the manifest, registered with the command's redactor
  while sending, and every message names it as ``scheme://host/***``.

The body is a summary (statuses, counts, the first failures), not the whole report: webhooks
limit bodies and the full report is what ``--report PATH`` is for. Proxies and the CA bundle are
the ones :class:`~kodo_jobs.kodo.network.Network` resolves for every other request.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from kodo_jobs.errors import EXIT_FAILED, EXIT_INVALID
from kodo_jobs.log import redact_text, register_secret
from kodo_jobs.manifest.notify import masked_url

if TYPE_CHECKING:
    from kodo_jobs.manifest.notify import Notify
    from kodo_jobs.pipeline.report import Report

FAILURE_CODES = frozenset({EXIT_FAILED, EXIT_INVALID})
"""Exit codes ``on: failure`` notifies about. Not 3 (another run holds the lock: it is working)
and not 130 (stopped by a signal or a run window: the next run resumes it)."""
FIRST_FAILURES = 10
"""Failures per job named in the body (the full list is in ``--report PATH``)."""
USER_AGENT = "kodo-jobs-notify"


def should_notify(on: str, exit_code: int) -> bool:
    """Whether a run ending with ``exit_code`` is notified under ``on: failure|always``."""
    return on == "always" or exit_code in FAILURE_CODES


def summary(report: Report | None, exit_code: int, manifest: str) -> dict[str, Any]:
    """The JSON body: the run's status and per-job counts (keys and messages already redacted)."""
    body: dict[str, Any] = {"source": "kodo-jobs", "manifest": manifest, "exit_code": exit_code,
                            "host": socket.gethostname()}
    if report is None:  # the run stopped before it could report (lock held, invalid manifest...)
        body.update(status="error", message="the run ended before it made a report; see its log")
        return body
    doc = report.to_json()
    body.update({k: doc[k] for k in ("run_id", "status", "started", "ended", "duration", "message",
                                      "payload_bytes", "wire_bytes")})
    body["jobs"] = [
        {k: j[k] for k in ("name", "kind", "status", "note", "duration", "counts", "failures_total")}
        | {"failures": j["failures"][:FIRST_FAILURES]}
        for j in doc["jobs"]
    ]
    return body


@dataclass(frozen=True)
class Delivery:
    """How a notification ended: ``ok``, ``failed`` (``detail`` says why) or ``timeout``."""

    outcome: str
    detail: str = ""
    attempts: int = 0


class _Retryable(Exception):
    """A 5xx/429 answer: worth another try."""


def post(url: str, body: Mapping[str, Any], *, timeout: float, attempts: int,
         clock: Callable[[], float] = time.monotonic) -> Delivery:
    """POST ``body`` as JSON with retries, within ``timeout`` seconds in all (blocking)."""
    import requests
    import tenacity

    from kodo_jobs.kodo.network import Network

    deadline = clock() + timeout
    network = Network()
    tries = 0

    def once() -> None:
        nonlocal tries
        tries += 1
        left = max(0.05, deadline - clock())
        with requests.Session() as session:
            session.trust_env = False  # proxies come from Network; never a ~/.netrc Authorization
            resp = session.post(url, json=dict(body), timeout=(min(left, 5.0), left), allow_redirects=False,
                                proxies=network.proxies_for(url), verify=network.verify(),
                                headers={"User-Agent": USER_AGENT})
        if resp.status_code >= 500 or resp.status_code == 429:
            raise _Retryable(f"HTTP {resp.status_code}")
        if resp.status_code >= 300:
            raise ValueError(f"HTTP {resp.status_code}")

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts) | tenacity.stop_before_delay(timeout),
        wait=tenacity.wait_random_exponential(multiplier=0.5, max=5.0),
        retry=tenacity.retry_if_exception_type((_Retryable, requests.ConnectionError, requests.Timeout)),
        reraise=True,
    )
    try:
        retrying(once)
    except (ValueError, _Retryable, requests.RequestException, OSError) as exc:
        return Delivery("failed", redact_text(str(exc)), tries)
    return Delivery("ok", "", tries)


def notify(config: Notify, report: Report | None, exit_code: int, manifest: str, *,
           out: IO[str] | None = None) -> Delivery | None:
    """Send the summary when ``config.on`` asks for this exit code; wait at most
    ``config.timeout`` seconds. Writes one line to stderr unless it was delivered."""
    if not should_notify(config.on, exit_code):
        return None
    url = config.url.get_secret_value()
    register_secret(url)
    body = summary(report, exit_code, manifest)
    result: list[Delivery] = []
    worker = threading.Thread(
        target=lambda: result.append(post(url, body, timeout=config.timeout, attempts=config.attempts)),
        name="kodo-jobs-notify", daemon=True)
    worker.start()
    worker.join(config.timeout)
    delivery = result[0] if result else Delivery("timeout", f"no answer within {config.timeout:g}s")
    if delivery.outcome != "ok":
        stream = out or sys.stderr
        stream.write(f"kodo-jobs: warning: notify {masked_url(url)}: {delivery.outcome}: "
                     f"{redact_text(delivery.detail)}\n")
    return delivery


__all__ = ["FAILURE_CODES", "Delivery", "notify", "post", "should_notify", "summary"]
