"""When a standalone ``kind: cdn`` job has nothing to do: its convergence rules.

A refresh or prefetch has no state to compare (a CDN cache cannot be asked whether it is
fresh), so a job written in a manifest is taken as "send these once": the state file records,
per URL, a fingerprint of the job's refresh/prefetch lists when the URL was accepted, and a
rerun plans ``skip`` while the lists are unchanged. Editing the lists sends the whole job again;
a URL refused (quota, invalid) is not recorded and is sent by the next run; ``every_run: true``
sends on every run. A sync's ``then: cdn_refresh`` job is driven by what the sync changed and
is never filtered here.

``report:`` is written once per report spec (domains, dates, granularity, metrics, format,
output path) once its period is over (``end`` before today, UTC) and while the file exists;
a period that includes today is fetched again on every run (its figures still grow). Log files
already downloaded with the listed size are skipped (see :mod:`.cdn`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.jobs.base import JobContext

if TYPE_CHECKING:
    from kodo_jobs.manifest.spec_cdn import CdnJob

THEN_SUFFIX = ".then-cdn"
"""The name suffix of a sync's follow-up refresh job (see :mod:`.then`)."""


def applies(spec: CdnJob) -> bool:
    """True for a job the once-per-spec rule covers (not a ``then:`` follow-up, not every_run)."""
    return not spec.name.endswith(THEN_SUFFIX) and not spec.every_run


def lists_fingerprint(spec: CdnJob) -> str:
    """What the job sends: its refresh, directory and prefetch lists."""
    body = [list(spec.refresh_urls), list(spec.refresh_dirs), list(spec.prefetch_urls)]
    return hashlib.sha1(json.dumps(body).encode("utf-8")).hexdigest()[:16]


def _key(job: str, op: str, what: str) -> str:
    return f"cdn\x1f{job}\x1f{op}\x1f{what}"


def sent(ctx: JobContext[CdnJob], job: str, op: str, url: str, fp: str) -> bool:
    """True when an earlier run sent ``url`` for these same lists."""
    return ctx.state.get_value(_key(job, op, url)) == fp


def report_fingerprint(params: dict[str, object], out: str) -> str:
    """What a report asks for, including where it goes."""
    return hashlib.sha1(json.dumps([params, out], sort_keys=True).encode("utf-8")).hexdigest()[:16]


def report_current(ctx: JobContext[CdnJob], job: str, end: dt.date, out: Path, fp: str) -> bool:
    """True when this report of a finished period was written before and is still there."""
    today = dt.datetime.now(dt.UTC).date()
    return end < today and out.is_file() and ctx.state.get_value(_key(job, "report", "")) == fp


def remember(ctx: JobContext[CdnJob], action: Action, outcome: Outcome) -> None:
    """After an accepted refresh/prefetch or a written report: record it."""
    fp = action.params.get("fp")
    if outcome.status != "done" or not fp:
        return
    what = "" if action.op == "report" else action.key
    ctx.state.set_value(_key(action.job, action.op, what), str(fp))
