"""``notify:``: where a run's summary goes when it fails (or always), as a JSON POST.

The URL is usually a chat or incident webhook whose path carries a token, so it is a
``SecretStr`` (never printed; shown as ``scheme://host/***``) and may come from a variable
declared ``secret: true`` (``url: ${ALERT_WEBHOOK}``). Sending is
:mod:`kodo_jobs.pipeline.notify`'s job.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from kodo_jobs.manifest.base import Model
from kodo_jobs.manifest.types import Duration, check_http_url


class Notify(Model):
    """POST the run summary (JSON) to a webhook when the run fails, or after every run."""

    url: SecretStr
    """Webhook URL (http or https), usually ``${VAR}`` from a variable declared under ``env:``. Never printed."""
    on: Literal["failure", "always"] = "failure"
    """``failure``: only when the run ends with exit code 1 or 2; ``always``: after every run."""
    timeout: Duration = Field(10.0, gt=0)
    """The most the notification may add to the run's end, retries included; then the run exits anyway."""
    attempts: int = Field(3, ge=1, le=10)
    """Tries per notification (a failed POST or a 5xx answer is tried again while time is left)."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        try:
            check_http_url(value.get_secret_value())
        except ValueError:
            raise ValueError("must be an absolute http(s) URL") from None  # the URL itself is secret
        return value


def masked_url(url: str) -> str:
    """``https://hooks.example.com/services/T0/B0/xyz`` -> ``https://hooks.example.com/***``."""
    scheme, sep, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1].split("?", 1)[0]
    return f"{scheme}{sep}{host}/***" if sep else "***"


__all__ = ["Notify", "masked_url"]
