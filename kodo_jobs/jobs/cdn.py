"""``kind: cdn``: refresh URLs and directories, prefetch URLs, and the traffic/log report.

Plan: one action per URL (``refresh``, ``refresh_dir``, ``prefetch``; the action key is the
URL), and for ``report:`` one ``report`` action (flux/bandwidth series into ``out``) plus one
``log`` action per log file of ``logs_day`` (``skip`` when the file is already downloaded with
the listed size). Log URLs are signed, so they are never stored in the plan: a ``log`` action
lists the day again when it runs.

Run: the actions of a call are grouped by op and sent in requests of at most
``urls_per_request`` / ``dirs_per_request`` entries. Each answer tells how much of the daily
quota is left (:mod:`kodo_jobs.jobs.quota`); the next request sends only what still fits.
When the service refuses a request for a limit or quota (400033/400034/400035), the request
is split in halves until it fits (this also adapts to an account whose per-request limit is
lower than configured); once a single entry is refused, the quota is used up: every remaining
action of that quota fails at once with ``QuotaExceeded``'s code and a message that names the
quota, without further requests, and the run ends with exit code 1.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.jobs import cdn_once
from kodo_jobs.jobs.base import JobContext, JobKind
from kodo_jobs.jobs.ops import CdnOp
from kodo_jobs.jobs.quota import QuotaBooks, chunked
from kodo_jobs.jobs.tries import Tries, max_attempts, outcome_for_error
from kodo_jobs.kodo.cdn import PrefetchResult
from kodo_jobs.kodo.errors import KodoError, QuotaExceeded, RunFatalError

if TYPE_CHECKING:
    from kodo_jobs.kodo.cdn import RefreshResult, TrafficData
    from kodo_jobs.manifest.spec_cdn import CdnJob

QUOTA_CODES = {"refresh": 400034, "refresh_dir": 400035, "prefetch": 400033}
INVALID_CODE = 400031
BOOKS = QuotaBooks()
_TRIES = Tries()


class CdnKind:
    """The ``cdn`` job kind."""

    kind = "cdn"
    batch_size = 100
    max_concurrency = 1
    """Calls run one after another: each answer tells the quota left before the next request."""

    def plan(self, spec: CdnJob, ctx: JobContext[CdnJob]) -> Iterator[Action[CdnOp]]:
        """Refresh/prefetch actions (deduplicated, in manifest order), then the report's actions;
        ``skip`` for what an earlier run already did for this spec (rules in :mod:`.cdn_once`)."""
        once = cdn_once.applies(spec)
        fp = cdn_once.lists_fingerprint(spec)
        lists: tuple[tuple[CdnOp, tuple[str, ...]], ...] = (
            ("refresh", spec.refresh_urls), ("refresh_dir", spec.refresh_dirs), ("prefetch", spec.prefetch_urls))
        for op, items in lists:
            for url in dict.fromkeys(items):
                if not once:
                    yield Action(spec.name, op, url)
                elif cdn_once.sent(ctx, spec.name, op, url, fp):
                    yield Action(spec.name, "skip", url, 0, 0, {
                        "reason": f"{op} sent by an earlier run for this job spec (every_run: true repeats it)"})
                else:
                    yield Action(spec.name, op, url, 0, 0, {"fp": fp})
        report = spec.report
        if report is None:
            return
        if report.flux or report.bandwidth:
            params: dict[str, object] = {
                "domains": list(report.domains), "start": report.start.isoformat(), "end": report.end.isoformat(),
                "granularity": report.granularity, "flux": report.flux, "bandwidth": report.bandwidth,
                "format": report.format}
            report_fp = cdn_once.report_fingerprint(params, str(report.out))
            if once and cdn_once.report_current(ctx, spec.name, report.end, Path(report.out), report_fp):
                yield Action(spec.name, "skip", str(report.out), 0, 0, {
                    **params, "reason": "written by an earlier run for this finished period"})
            else:
                yield Action(spec.name, "report", str(report.out), 0, 0, {**params, "fp": report_fp})
        if report.logs_day is not None and report.logs_dir is not None:
            listing = ctx.client.cdn.log_list(list(report.domains), report.logs_day.isoformat())
            for domain in sorted(listing):
                for log in sorted(listing[domain], key=lambda f: f.name):
                    dest = Path(report.logs_dir) / domain / log.name
                    params = {"domain": domain, "name": log.name, "day": report.logs_day.isoformat(),
                              "dest": str(dest)}
                    if dest.is_file() and dest.stat().st_size == log.size:
                        yield Action(spec.name, "skip", f"{domain}/{log.name}", log.size, 0,
                                     {**params, "reason": "already downloaded"})
                    else:
                        yield Action(spec.name, "log", f"{domain}/{log.name}", log.size, 0, params)

    def run(self, actions: Sequence[Action], ctx: JobContext[CdnJob]) -> list[Outcome]:
        """Send refresh/prefetch requests under the limits and quotas; write reports and logs."""
        outcomes: dict[str, Outcome] = {}
        for op in ("refresh", "refresh_dir", "prefetch"):
            mine = [a for a in actions if a.op == op]
            size = ctx.spec.dirs_per_request if op == "refresh_dir" else ctx.spec.urls_per_request
            for chunk in chunked(mine, size):
                outcomes.update(_send_limited(ctx, op, chunk))
        logs = [a for a in actions if a.op == "log"]
        if logs:
            outcomes.update(_download_logs(ctx, logs))
        for action in actions:
            if action.op == "report":
                outcomes[action.id] = _write_report(ctx, action)
        result = [outcomes.get(a.id) or Outcome(a.id, "failed", message=f"unknown cdn op {a.op!r}")
                  for a in actions]
        for action, outcome in zip(actions, result, strict=True):
            cdn_once.remember(ctx, action, outcome)
        return result


def _call(ctx: JobContext[CdnJob], op: str, urls: Sequence[str]) -> RefreshResult | PrefetchResult:
    cdn = ctx.client.cdn
    if op == "refresh":
        return cdn.refresh(urls=urls)
    if op == "refresh_dir":
        return cdn.refresh(dirs=urls)
    return cdn.prefetch(urls)


def _send_limited(ctx: JobContext[CdnJob], op: str, chunk: Sequence[Action]) -> dict[str, Outcome]:
    """Send what the quota still allows; the rest fails with the quota message."""
    book = BOOKS.get(ctx.run_id)
    allowed = book.allowance(op, len(chunk))
    out = _send(ctx, op, chunk[:allowed]) if allowed else {}
    for action in chunk:
        if action.id not in out:
            out[action.id] = _quota_failure(ctx, op, action)
    return out


def _quota_failure(ctx: JobContext[CdnJob], op: str, action: Action) -> Outcome:
    return Outcome(action.id, "failed", code=QUOTA_CODES[op], message=BOOKS.get(ctx.run_id).message(op))


def _send(ctx: JobContext[CdnJob], op: str, chunk: Sequence[Action]) -> dict[str, Outcome]:
    """One request; on a limit/quota refusal, halves until it fits or the quota is used up."""
    book = BOOKS.get(ctx.run_id)
    if not chunk:
        return {}
    if book.allowance(op, len(chunk)) < len(chunk):
        return _send_limited(ctx, op, chunk)
    try:
        answer = _call(ctx, op, [a.key for a in chunk])
    except QuotaExceeded:
        if len(chunk) == 1:
            book.mark_exhausted(op)
            return {chunk[0].id: _quota_failure(ctx, op, chunk[0])}
        half = len(chunk) // 2
        halves = _send(ctx, op, chunk[:half])
        halves.update(_send(ctx, op, chunk[half:]))
        return halves
    except RunFatalError:
        raise
    except KodoError as exc:
        attempts = max_attempts(ctx.spec)
        return {a.id: outcome_for_error(a, exc, attempt=_TRIES.next(ctx.run_id, a.id), attempts=attempts)
                for a in chunk}
    raw = _answer_fields(op, answer)
    book.record_answer(op, raw, sent=len(chunk))
    invalid = set(getattr(answer, "invalid_urls", ())) | set(getattr(answer, "invalid_dirs", ()))
    out: dict[str, Outcome] = {}
    for a in chunk:
        if a.key in invalid:
            out[a.id] = Outcome(a.id, "failed", code=INVALID_CODE, reqid=answer.request_id,
                                message=f"the CDN refused {a.key!r} as invalid (not a domain of this account?)")
        else:
            task = answer.task_ids.get(a.key, "")
            out[a.id] = Outcome(a.id, "done", reqid=answer.request_id,
                                result={"request_id": answer.request_id, **({"task_id": task} if task else {})})
    return out


def _answer_fields(op: str, answer: RefreshResult | PrefetchResult) -> dict[str, int]:
    """The quota fields of a typed answer, under their wire names (what QuotaBook reads)."""
    if isinstance(answer, PrefetchResult):  # op == "prefetch"
        return {"quotaDay": answer.quota_day, "surplusDay": answer.surplus_day}
    if op == "refresh_dir":
        return {"dirQuotaDay": answer.dir_quota_day, "dirSurplusDay": answer.dir_surplus_day}
    return {"urlQuotaDay": answer.url_quota_day, "urlSurplusDay": answer.url_surplus_day}


def _atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a file that looks done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _download_logs(ctx: JobContext[CdnJob], actions: Sequence[Action]) -> dict[str, Outcome]:
    """List the day's logs once (their signed URLs are not kept in the plan), then fetch each."""
    out: dict[str, Outcome] = {}
    by_day: dict[str, list[Action]] = {}
    for a in actions:
        by_day.setdefault(str(a.params["day"]), []).append(a)
    report = ctx.spec.report
    domains = list(report.domains) if report is not None else []  # log actions come with a report
    attempts = max_attempts(ctx.spec)
    for day, todo in by_day.items():
        try:
            listing = ctx.client.cdn.log_list(domains, day)
        except RunFatalError:
            raise
        except KodoError as exc:
            out.update({a.id: outcome_for_error(a, exc, attempt=_TRIES.next(ctx.run_id, a.id), attempts=attempts)
                        for a in todo})
            continue
        files = {(d, f.name): f for d, logs in listing.items() for f in logs}
        for a in todo:
            log = files.get((a.params["domain"], a.params["name"]))
            if log is None:
                out[a.id] = Outcome(a.id, "failed", code=404, message="the log file is no longer listed")
                continue
            try:
                data = ctx.client.cdn.download_log(log)
            except RunFatalError:
                raise
            except KodoError as exc:
                out[a.id] = outcome_for_error(a, exc, attempt=_TRIES.next(ctx.run_id, a.id), attempts=attempts)
                continue
            _atomic_write(Path(a.params["dest"]), data)
            out[a.id] = Outcome(a.id, "done", bytes=len(data), result={"path": a.params["dest"], "size": len(data)})
    return out


def _write_report(ctx: JobContext[CdnJob], action: Action) -> Outcome:
    """Fetch the flux/bandwidth series and write them as CSV (long format) or JSON."""
    p = action.params
    series: dict[str, TrafficData] = {}
    try:
        for metric in ("flux", "bandwidth"):
            if p[metric]:
                call = ctx.client.cdn.flux if metric == "flux" else ctx.client.cdn.bandwidth
                series[metric] = call(p["domains"], p["start"], p["end"], p["granularity"])
    except RunFatalError:
        raise
    except KodoError as exc:
        return outcome_for_error(action, exc, attempt=_TRIES.next(ctx.run_id, action.id),
                                 attempts=max_attempts(ctx.spec))
    rows = [(metric, domain, area, t, v)
            for metric, data in series.items()
            for domain, areas in sorted(data.data.items())
            for area, values in sorted(areas.items())
            for t, v in zip(data.time, values, strict=False)]
    if p["format"] == "json":
        doc = {"domains": p["domains"], "start": p["start"], "end": p["end"], "granularity": p["granularity"],
               **{m: {"time": list(d.time), "data": {dom: {a: list(v) for a, v in areas.items()}
                                                      for dom, areas in d.data.items()}}
                  for m, d in series.items()}}
        payload = json.dumps(doc, indent=2, sort_keys=True).encode("utf-8")
    else:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["metric", "domain", "area", "time", "value"])
        writer.writerows(rows)
        payload = buf.getvalue().encode("utf-8")
    _atomic_write(Path(action.key), payload)
    return Outcome(action.id, "done", bytes=len(payload), result={"path": action.key, "points": len(rows)})


KIND: JobKind[CdnJob] = CdnKind()
