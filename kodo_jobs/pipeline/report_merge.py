"""``kodo-jobs report merge r0.json r1.json ... -o all.json``: the shards' reports as one run's.

N shards of one run (``run --shard I/N --report rI.json``) each write a report of their part;
dashboards and reviewers want one. The merged document has the report's own schema, because
it is built as a :class:`~kodo_jobs.pipeline.report.Report` and written by its ``to_json``:
counts and bytes are summed per job, op and status; failures are concatenated (capped like a
run's); a job's duration is the longest shard's (shards run side by side), the run's span is
first start to last end; the status is the worst (aborted, failed, interrupted, ok) and the
exit code follows from it as for a run. ``merged_from`` lists the shards' run ids and statuses.

Inputs are untrusted files (artifacts collected from other machines): each is size-capped,
parsed as strict JSON (no NaN, bounded nesting), validated by pydantic models with bounded
strings and lists, and every input must be a report of the same manifest.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kodo_jobs.actions import ByteCount
from kodo_jobs.errors import EXIT_INVALID, UsageError
from kodo_jobs.pipeline.report import MAX_FAILURES, FailureLine, JobReport, Report

MAX_REPORT_BYTES = 64 * 1024 * 1024
"""A report is small (failures and results are capped); anything bigger is not one."""
MAX_RESULTS = 1000
_RUN_ORDER = {"ok": 0, "dry-run": 0, "interrupted": 1, "failed": 2, "aborted": 3}
_JOB_ORDER = {"disabled": 0, "planned": 0, "ok": 1, "skipped": 2, "interrupted": 3, "failed": 4, "aborted": 5}

Text = Annotated[str, Field(max_length=65_536)]
Count = Annotated[int, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class _Failure(_Strict):
    op: Text
    key: Text
    code: int | None = None
    reqid: Text = ""
    message: Text = ""


class _Job(_Strict):
    name: Text
    kind: Text
    status: Literal["ok", "failed", "skipped", "interrupted", "aborted", "planned", "disabled"]
    note: Text = ""
    duration: Annotated[float, Field(ge=0)] = 0.0
    payload_bytes: Count = 0
    wire_bytes: Count = 0
    counts: dict[Text, dict[Text, Count]] = Field(default_factory=dict, max_length=10_000)
    failures_total: Count = 0
    failures: list[_Failure] = Field(default_factory=list, max_length=10_000)
    results: list[dict[Text, Any]] = Field(default_factory=list, max_length=100_000)


class _Report(_Strict):
    manifest: Text
    run_id: Text
    started: float
    ended: float
    status: Literal["ok", "failed", "aborted", "interrupted", "dry-run"]
    dry_run: bool = False
    exit_code: int
    message: Text = ""
    jobs: list[_Job] = Field(max_length=10_000)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def read_report(path: Path) -> _Report:
    """One input, checked; :class:`UsageError` (exit 2) naming the file and the problem otherwise."""
    try:
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise UsageError(f"{path}: {size} bytes is too big for a run report (at most {MAX_REPORT_BYTES})")
        with path.open("rb") as f:
            raw = f.read(MAX_REPORT_BYTES + 1)
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UsageError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UsageError(f"{path}: not a readable JSON report ({type(exc).__name__}: {exc})") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: not a run report (expected a JSON object)")
    try:
        return _Report.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"{path}: not a run report of kodo-jobs: {where or 'document'}: {first['msg']} "
                         f"({exc.error_count()} problem(s))") from None


def merge(reports: list[_Report]) -> Report:
    """The reports of one manifest's shards as one :class:`Report`."""
    if not reports:
        raise UsageError("report merge: give at least one report")
    manifests = {r.manifest for r in reports}
    if len(manifests) > 1:
        raise UsageError(f"report merge: the reports are of different manifests ({', '.join(sorted(manifests))}); "
                         "merge only the shards of one run")
    ids = [r.run_id for r in reports]
    if len(set(ids)) < len(ids):
        raise UsageError("report merge: the same run's report is given twice (run ids repeat)")
    jobs: dict[str, list[_Job]] = {}
    for r in reports:
        for j in r.jobs:
            jobs.setdefault(j.name, []).append(j)
    status = max((r.status for r in reports), key=lambda s: _RUN_ORDER[s])
    if all(r.status == "dry-run" for r in reports):
        status = "dry-run"
    elif status == "dry-run":
        status = "ok"
    messages = list(dict.fromkeys(r.message for r in reports if r.message))
    return Report(
        manifest=reports[0].manifest,
        run_id="+".join(ids),
        started=min(r.started for r in reports),
        ended=max(r.ended for r in reports),
        status=status,
        jobs=tuple(_merge_job(name, parts) for name, parts in jobs.items()),
        message="; ".join(messages),
        dry_run=all(r.dry_run for r in reports),
        extra={"merged_from": [{"run_id": r.run_id, "status": r.status, "exit_code": r.exit_code,
                                "started": r.started, "ended": r.ended} for r in reports]},
        invalid_input=any(r.exit_code == EXIT_INVALID for r in reports),
    )


def _merge_job(name: str, parts: list[_Job]) -> JobReport:
    kinds = {p.kind for p in parts}
    if len(kinds) > 1:
        raise UsageError(f"report merge: job {name!r} has different kinds in the reports ({', '.join(sorted(kinds))})")
    counts: dict[str, dict[str, int]] = {}
    for p in parts:
        for op, c in p.counts.items():
            into = counts.setdefault(op, {})
            for k, v in c.items():
                into[k] = into.get(k, 0) + v
    failures = [FailureLine(f.op, f.key, f.code, f.reqid, f.message) for p in parts for f in p.failures]
    results = [r for p in parts for r in p.results][:MAX_RESULTS]
    duration = max(p.duration for p in parts)
    return JobReport(
        name=name, kind=parts[0].kind,
        status=max((p.status for p in parts), key=lambda s: _JOB_ORDER[s]),
        counts=counts, duration=duration if math.isfinite(duration) else 0.0,
        failures=tuple(failures[:MAX_FAILURES]), failures_total=sum(p.failures_total for p in parts),
        note="; ".join(dict.fromkeys(p.note for p in parts if p.note)),
        results=tuple(results),
        moved=ByteCount(sum(p.payload_bytes for p in parts), sum(max(p.wire_bytes, p.payload_bytes) for p in parts)),
    )


def merge_files(paths: list[Path], out: Path) -> Report:
    """Read, check and merge ``paths``; write the merged report to ``out`` (atomically)."""
    merged = merge([read_report(p) for p in paths])
    merged.write_json(out)
    return merged


__all__ = ["MAX_REPORT_BYTES", "merge", "merge_files", "read_report"]
