"""Clock skew: measured from the first answer of the run, with a warning and wider deadlines.

The run's first real request (the listing of the first job, which always comes before any
upload token or download URL is signed) carries a ``Date``; :func:`watch_clock` registers a
one-shot response hook that compares it with the local clock, so measuring costs no request.
Above :data:`~kodo_jobs.kodo.clock.SKEW_WARN_SECONDS` the run logs a warning naming the skew,
and every upload token and signed download URL of this run gets the skew added to its lifetime
(the client's :class:`~kodo_jobs.kodo.clock.DeadlineSlack`, ``client.slack``), so a machine whose clock is minutes off still gets
tokens the server accepts. An answer without ``Date`` simply leaves deadlines as they are.

Whatever its size, the measured skew is reported: an info line (``clock skew measured``, in
JSON logs) and the run report's ``clock`` field, with whether requests carry ``X-Qiniu-Date``
(``target.sign_date`` / ``DISABLE_QINIU_TIMESTAMP_SIGNATURE``): Kodo checks that header
against its own clock, so a skewed machine should know before its first 401.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kodo_jobs.kodo import clock
from kodo_jobs.log import Logger

if TYPE_CHECKING:
    from kodo_jobs.kodo.client import KodoClient


@dataclass
class ClockReading:
    """What the run learnt about its clock: the skew (None until measured) and whether
    Qiniu-signed requests carry ``X-Qiniu-Date``."""

    sign_date: bool
    skew: float | None = None

    def to_json(self) -> dict[str, float | bool | None]:
        """The report's ``clock`` field."""
        return {"skew_seconds": None if self.skew is None else round(self.skew, 1),
                "x_qiniu_date": self.sign_date}


def watch_clock(client: KodoClient, log: Logger) -> ClockReading:
    """Reset the client's deadline slack and measure the skew on its first answer."""
    client.slack.set(0)
    reading = ClockReading(sign_date=bool(client.sign_date))

    def on_skew(skew: float) -> None:
        reading.skew = skew
        log.info("clock skew measured", skew_seconds=round(skew, 1), x_qiniu_date=reading.sign_date)
        if abs(skew) > clock.SKEW_WARN_SECONDS:
            client.slack.set(skew)
            log.warning("clock skew", skew_seconds=round(skew, 1), server_is="ahead" if skew > 0 else "behind",
                        action=f"token and URL deadlines widened by {client.slack.seconds}s; fix this machine's clock (NTP)")

    clock.watch_first_response(client.http, on_skew)
    return reading


__all__ = ["ClockReading", "watch_clock"]
