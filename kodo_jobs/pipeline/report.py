"""Step 4 of the pipeline: the run report: per job counts per op and status, bytes, duration,
failures; the run's exit code.

:func:`build_job_report` builds one job's account from the checkpoint's aggregate queries (never
from a list of every outcome), so its size is bounded by jobs x ops x statuses plus at most
:data:`MAX_FAILURES` failures per job; :class:`ResultsCollector` keeps the (capped) results kinds
return; :class:`Report` is the run's account. Rendered as a console summary (one line when
nothing changed, so a cron mail stays empty of noise) and as the ``--report PATH`` JSON
document. Nothing in it is secret: keys, codes, request ids and messages pass the log redactor
first.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from kodo_jobs.actions import ERROR_OP, NO_CHANGE_OPS, READ_ONLY_OPS, Action, ByteCount, Outcome
from kodo_jobs.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, RunAborted
from kodo_jobs.executor.events import Subscriber
from kodo_jobs.log import redact_text
from kodo_jobs.textsafe import escape_lines, escape_text
from kodo_jobs.units import human_bytes

if TYPE_CHECKING:
    from kodo_jobs.executor.checkpoint import Checkpoint
    from kodo_jobs.manifest.models import AnyJob

MAX_FAILURES = 100
JobStatus = Literal["ok", "failed", "skipped", "interrupted", "aborted", "planned", "disabled"]
RunStatus = Literal["ok", "failed", "aborted", "interrupted", "dry-run"]


@dataclass(frozen=True, slots=True)
class FailureLine:
    """A failed action as reported: enough to look it up in Kodo's logs."""

    op: str
    key: str
    code: int | None
    reqid: str
    message: str


@dataclass(frozen=True, slots=True)
class JobReport:
    """One job's account: ``counts[op][status]`` plus ``bytes`` planned and ``sent`` per op, and
    the bytes this run moved (``moved``: payload and bytes on the wire, see :class:`ByteCount`)."""

    name: str
    kind: str
    status: JobStatus
    counts: Mapping[str, Mapping[str, int]]
    duration: float = 0.0
    failures: tuple[FailureLine, ...] = ()
    failures_total: int = 0
    note: str = ""
    results: tuple[Mapping[str, Any], ...] = ()
    """Per-action results kinds return (pfop ids and per-fop codes, batch stat data...), capped."""
    moved: ByteCount = ByteCount()
    """Bytes this run moved for the job: payload, and on the wire with re-sends."""
    invalid_input: bool = False
    """The job could not start because of its own input (its note says which)."""

    @property
    def bytes_sent(self) -> int:
        """Payload bytes this run moved for the job (the ``payload_bytes`` figure)."""
        return self.moved.payload

    @property
    def changed(self) -> int:
        """Actions that changed something (done, excluding no-change and read-only ops)."""
        return sum(c.get("done", 0) for op, c in self.counts.items()
                   if op not in NO_CHANGE_OPS and op not in READ_ONLY_OPS)

    @property
    def unfinished(self) -> int:
        """Actions still pending (left for the next run)."""
        return sum(c.get("pending", 0) for c in self.counts.values())

    @property
    def would_change(self) -> int:
        """Planned actions that would change something (dry run)."""
        return sum(sum(v for k, v in c.items() if k not in ("bytes", "sent"))
                   for op, c in self.counts.items() if op not in NO_CHANGE_OPS and op != ERROR_OP)


@dataclass(frozen=True, slots=True)
class Report:
    """The account of one run (or dry run)."""

    manifest: str
    run_id: str
    started: float
    ended: float
    status: RunStatus
    jobs: tuple[JobReport, ...]
    message: str = ""
    dry_run: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    invalid_input: bool = False
    """A job could not start because of its own input (see ``JobInputError``): exit 2."""

    @property
    def exit_code(self) -> int:
        """0 ok/dry run, 130 interrupted, 2 when a job's input was invalid, 1 otherwise."""
        if self.status in ("ok", "dry-run"):
            return EXIT_OK
        if self.status == "interrupted":
            return EXIT_INTERRUPTED
        return EXIT_INVALID if self.invalid_input else EXIT_FAILED

    @property
    def changed(self) -> int:
        """Actions that changed something, over every job."""
        return sum(j.changed for j in self.jobs)

    @property
    def moved(self) -> ByteCount:
        """Bytes the run moved, over every job."""
        return sum((j.moved for j in self.jobs), ByteCount())

    def to_json(self) -> dict[str, Any]:
        """The ``--report PATH`` document."""
        return {
            "manifest": self.manifest,
            "run_id": self.run_id,
            "started": self.started,
            "ended": self.ended,
            "duration": round(self.ended - self.started, 3),
            "status": self.status,
            "dry_run": self.dry_run,
            "exit_code": self.exit_code,
            "message": redact_text(self.message),
            "payload_bytes": self.moved.payload,
            "wire_bytes": self.moved.wire,
            "jobs": [
                {
                    "name": j.name, "kind": j.kind, "status": j.status, "note": redact_text(j.note),
                    "duration": round(j.duration, 3), "bytes_sent": j.bytes_sent,
                    "payload_bytes": j.moved.payload, "wire_bytes": j.moved.wire,
                    "counts": {op: dict(c) for op, c in sorted(j.counts.items())},
                    "failures_total": j.failures_total,
                    "failures": [
                        {"op": f.op, "key": f.key, "code": f.code, "reqid": f.reqid,
                         "message": redact_text(f.message)}
                        for f in j.failures
                    ],
                    **({"results": [dict(r) for r in j.results]} if j.results else {}),
                }
                for j in self.jobs
            ],
            **dict(self.extra),
        }

    def write_json(self, path: Path) -> None:
        """Write the JSON report atomically (a reader never sees half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    def render_text(self, out: IO[str]) -> None:
        """Console summary: one line when nothing changed and nothing failed, else per job."""
        quiet = self.status == "ok" and not self.dry_run and self.changed == 0 and all(
            j.failures_total == 0 and j.status in ("ok", "disabled") for j in self.jobs)
        duration = self.ended - self.started
        if quiet:
            same = sum(c.get("skipped", 0) for j in self.jobs for c in j.counts.values())
            disabled = [j.name for j in self.jobs if j.status == "disabled"]
            off = f"; disabled (enabled: false): {', '.join(disabled)}" if disabled else ""
            read = sum(c.get("done", 0) for j in self.jobs for op, c in j.counts.items() if op in READ_ONLY_OPS)
            reads = f", {read} read (results in --report)" if read else ""
            out.write(f"kodo-jobs: nothing to do ({same} up to date{reads}, {len(self.jobs)} job(s), "
                      f"{duration:.1f}s){off}\n")
            return
        title = "dry run (nothing changed)" if self.dry_run else f"run {self.status}"
        total = "" if self.dry_run or len(self.jobs) < 2 else f", {_moved(self.moved)}"
        out.write(f"kodo-jobs: {title} in {duration:.1f}s{total}\n")
        e = escape_text  # keys, names and messages are untrusted: no control or bidi character gets out
        for j in self.jobs:
            note = f" - {e(redact_text(j.note))}" if j.note else ""
            out.write(f"  {e(j.name)} ({j.kind}): {j.status}, {_moved(j.moved)}, {j.duration:.1f}s{note}\n")
            for op, c in sorted(j.counts.items()):
                statuses = ", ".join(f"{k} {v}" for k, v in sorted(c.items()) if k not in ("bytes", "sent") and v)
                out.write(f"    {e(op):<10} {statuses}  ({human_bytes(c.get('bytes', 0))})\n")
            for f in j.failures[:20]:
                out.write(f"    FAILED {e(f.op)} {e(f.key)}: {e(redact_text(f.message))}"
                          f"{f' code={f.code}' if f.code else ''}{f' reqid={e(f.reqid)}' if f.reqid else ''}\n")
            if j.failures_total > min(20, len(j.failures)):
                out.write(f"    ... {j.failures_total - min(20, len(j.failures))} more failure(s) "
                          "(see --report PATH or `kodo-jobs status`)\n")
        if self.message:
            out.write(escape_lines(redact_text(self.message).rstrip()) + "\n")


def _moved(moved: ByteCount) -> str:
    """``36.0 MiB sent`` and, when re-sends cost more, ``(41.2 MiB on the wire)``."""
    text = f"{human_bytes(moved.payload)} sent"
    if moved.wire > moved.payload:
        text += f" ({human_bytes(moved.wire)} on the wire)"
    return text


def build_job_report(cp: Checkpoint, spec: AnyJob, status: JobStatus, duration: float, note: str = "",
                     moved: Mapping[str, ByteCount] | None = None) -> JobReport:
    """One job's account, from the checkpoint's counts and first failures (``moved``: the bytes
    the run moved per job, :attr:`kodo_jobs.executor.runner.Runner.moved`)."""
    counts = cp.counts(spec.name).get(spec.name, {})
    failures, total = cp.failures(spec.name)
    return JobReport(
        name=spec.name, kind=spec.kind, status=status, counts=counts, duration=duration,
        failures=tuple(FailureLine(f.op, f.key, f.code, f.reqid, f.message) for f in failures),
        failures_total=total, note=note, moved=(moved or {}).get(spec.name, ByteCount()),
    )


class ResultsCollector(Subscriber):
    """Collects the ``result`` of one job's finished actions for the report (capped at ``LIMIT``)."""

    LIMIT = 1000

    def __init__(self, job: str) -> None:
        self.job = job
        self.items: list[dict[str, Any]] = []  # JSON: what the kinds return, as the report shows it
        self._lock = threading.Lock()

    def action_done(self, action: Action, outcome: Outcome) -> None:
        """Keep the result of a done or failed action of this job."""
        if action.job == self.job and outcome.result and outcome.status in ("done", "failed"):
            with self._lock:
                if len(self.items) < self.LIMIT:
                    self.items.append({"op": action.op, "key": action.key, "status": outcome.status,
                                       **dict(outcome.result)})


def fatal_message(exc: BaseException, target: str, skew: int) -> str:
    """The one line that says why the whole run stopped, and what to check.

    A 401 names the target that refused and the two manifest fields to check (and the clock,
    when this run measured a skew: ``skew`` is the client's deadline slack); anything else
    run-wide keeps its own message."""
    from kodo_jobs.kodo.errors import KodoError, NoSuchBucket, Unauthorized

    root: BaseException | None = exc
    while root is not None and not isinstance(root, KodoError):
        root = root.__cause__
    if isinstance(root, Unauthorized):
        clock_hint = (f"; this machine's clock is {abs(skew)}s off the server's: fix it (NTP)" if skew else "")
        return (f"run stopped: {target} refused the credentials ({root}). Check target.access_key and "
                f"target.secret_key in the manifest (often ${{QINIU_ACCESS_KEY}} / ${{QINIU_SECRET_KEY}}): "
                f"they must be a valid AccessKey/SecretKey pair of the account that owns the bucket"
                f"{clock_hint}")
    if isinstance(root, NoSuchBucket):
        return f"run stopped: {exc} (the bucket does not exist at {target}: check `bucket:` and the target)"
    if isinstance(exc, RunAborted):
        return str(exc)
    return f"run stopped: {exc} (no further request can succeed; check the credentials, bucket and target)"
