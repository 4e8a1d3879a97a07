"""``kind: pfop``: persistent processing (transcode, thumbnails...) of existing objects."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, AnyHttpUrl, Field, model_validator

from kodo_jobs.manifest.spec_common import KeySource
from kodo_jobs.manifest.types import Duration

FOP_VARIABLES = ("bucket", "key", "dir", "fname", "stem", "ext")
"""The ``$(name)`` template variables of a fop: the one list the validator checks and the pfop
runner (:mod:`kodo_jobs.jobs.saveas`) replaces, so the two cannot disagree."""
_VAR_RE = re.compile(r"\$\(([^)]*)\)")


def check_fop_variables(fop: str) -> str:
    """Only the template variables the runner replaces may appear in a fop."""
    for name in _VAR_RE.findall(fop):
        if name not in FOP_VARIABLES:
            valid = ", ".join(f"$({v})" for v in FOP_VARIABLES)
            raise ValueError(f"unknown template variable $({name}) in fop (valid: {valid})")
    return fop


FopText = Annotated[str, Field(min_length=1), AfterValidator(check_fop_variables)]
"""One fop (``cmd/arg/...|saveas/...``) using only the runner's template variables."""


class PfopJob(KeySource):
    """Submit fops for each selected key; optionally wait for the results."""

    kind: Literal["pfop"]
    """Job kind."""
    fops: tuple[FopText, ...] = ()
    """Fops run on each key, e.g. ``avthumb/mp4|saveas/$(bucket):$(stem).mp4``."""
    pipeline: str | None = None
    """Processing queue (default: the shared queue)."""
    notify_url: AnyHttpUrl | None = None
    """URL receiving each result."""
    force: bool = False
    """Overwrite existing saveas targets."""
    type: Literal[0, 1] = 0
    """1 = idle-time processing (cheaper, later)."""
    workflow_template_id: str | None = None
    """Run this workflow template instead of fops."""
    wait: bool = True
    """Poll each task until it ends and report its outcome."""
    timeout: Duration = 1800.0
    """Give up waiting for one task after this long."""
    poll_interval: Duration = 2.0
    """Pause between two status polls."""

    @model_validator(mode="after")
    def _work(self) -> Self:
        if bool(self.fops) == (self.workflow_template_id is not None):
            raise ValueError("set exactly one of fops or workflow_template_id")
        if self.poll_interval <= 0:
            raise ValueError("poll_interval must be > 0")
        return self
