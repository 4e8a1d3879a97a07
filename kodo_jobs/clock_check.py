"""Clock skew: measured from the first answer of the run, with a warning and wider deadlines.

The run's first real request (the listing of the first job, which always comes before any
upload token or download URL is signed) carries a ``Date``; :func:`watch_clock` registers a
one-shot response hook that compares it with the local clock, so measuring costs no request.
Above :data:`~kodo_jobs.kodo.clock.SKEW_WARN_SECONDS` the run logs a warning naming the skew,
and every upload token and signed download URL of this run gets the skew added to its lifetime
(:func:`kodo_jobs.kodo.clock.set_slack`), so a machine whose clock is minutes off still gets
tokens the server accepts. An answer without ``Date`` simply leaves deadlines as they are.
"""

from __future__ import annotations

from typing import Any

from kodo_jobs.kodo import clock


def watch_clock(client: Any, log: Any) -> None:
    """Reset the deadline slack and measure the skew on the client's first answer."""
    clock.set_slack(0)

    def on_skew(skew: float) -> None:
        if abs(skew) > clock.SKEW_WARN_SECONDS:
            clock.set_slack(skew)
            log.warning("clock skew", skew_seconds=round(skew, 1), server_is="ahead" if skew > 0 else "behind",
                        action=f"token and URL deadlines widened by {clock.slack()}s; fix this machine's clock (NTP)")

    clock.watch_first_response(client.http, on_skew)


__all__ = ["watch_clock"]
