"""At the start of a run: measure the clock skew against the target and widen signed deadlines.

One ``GET /`` to the target's rs host (or uc, when hosts are discovered) gives the server's
``Date``. Above :data:`~kodo_jobs.kodo.clock.SKEW_WARN_SECONDS` the run logs a warning naming
both clocks and every upload token and signed download URL of this run gets the skew added to
its lifetime (:func:`kodo_jobs.kodo.clock.set_slack`), so a machine whose clock is minutes off
still gets tokens the server accepts. A target that cannot be asked (no host, no answer, no
``Date``) is not an error here: the run's own requests report real connection problems.
"""

from __future__ import annotations

from typing import Any

from kodo_jobs.kodo import clock


def check_clock(client: Any, log: Any) -> float | None:
    """Measure the skew (server - local, seconds), warn and set the deadline slack; returns it."""
    clock.set_slack(0)
    bases: tuple[str, ...] = ()
    for service in ("rs", "uc"):
        try:
            bases = tuple(client.resolver.candidates(service))
        except Exception:  # noqa: BLE001 - no such host configured: try the next service
            continue
        if bases:
            break
    if not bases:
        return None
    skew = clock.measure_skew(client.http, bases[0])
    if skew is None:
        return None
    if abs(skew) > clock.SKEW_WARN_SECONDS:
        clock.set_slack(skew)
        log.warning("clock skew", skew_seconds=round(skew, 1), server_is="ahead" if skew > 0 else "behind",
                    action=f"token and URL deadlines widened by {clock.slack()}s; fix this machine's clock (NTP)")
    return skew


__all__ = ["check_clock"]
