"""Prometheus metrics of one run: ``--metrics-file PATH`` and ``--pushgateway URL``.

Unattended runs are watched through metrics (an alert on "no success for two hours" needs no log
reading). Two conventions, both through ``prometheus_client`` and its own exposition code:

* the node-exporter textfile collector: :func:`prometheus_client.write_to_textfile` writes a
  temporary file and renames it, so the collector never reads half a file;
* the Pushgateway, for batch jobs: one group per manifest (``job="kodo-jobs"``,
  ``manifest="<file stem>"``, plus ``shard="I-of-N"`` for ``run --shard``), replaced by a
  successful run (PUT); a failed run adds to it
  (POST) without the last-success families, so the last success stays visible there.

Values come from the :class:`~kodo_jobs.pipeline.report.Report` (actions by op and outcome,
bytes, durations, statuses) plus what only the event stream sees: retries (``retrying`` events)
and throttled answers (a ``requests`` response hook on the client's session counts 573/429/509,
part uploads included). Every run writes a fresh registry of its own (never the process-global
``REGISTRY``), so a test or a second run in the same process starts from zero. The per-job label
is ``kodo_job``: ``job`` is the Pushgateway's grouping label and Prometheus's target label.

A failed run cannot know when the last success was; the file keeps it by reading the previous
file's ``..._last_success_timestamp_seconds`` samples before replacing it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

from kodo_jobs.actions import Action
from kodo_jobs.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK
from kodo_jobs.executor.events import Subscriber
from kodo_jobs.kodo.network import mask_url_credentials

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import CollectorRegistry
    from requests import Response

    from kodo_jobs.kodo.client import KodoClient
    from kodo_jobs.manifest.models import AnyJob
    from kodo_jobs.pipeline.report import JobReport, Report

PREFIX = "kodo_jobs"
PUSH_JOB = "kodo-jobs"
PUSH_TIMEOUT = 10.0
"""Seconds a push may take: a dead Pushgateway never holds the exit code longer."""
THROTTLE_STATUSES = frozenset({573, 429, 509})
LAST_SUCCESS = f"{PREFIX}_last_success_timestamp_seconds"
JOB_LAST_SUCCESS = f"{PREFIX}_job_last_success_timestamp_seconds"
_OUTCOMES = ("done", "failed", "skipped", "pending")


def job_direction(spec: AnyJob) -> str:
    """Which way a job moves bytes: ``download`` for a download sync and cdn (access logs),
    ``upload`` otherwise (batch, fetch and pfop move none from this machine)."""
    if spec.kind == "sync":
        return spec.direction
    return "download" if spec.kind == "cdn" else "upload"


def job_exit_code(job: JobReport) -> int:
    """The exit code a run of only this job would have had."""
    if job.status in ("ok", "disabled", "planned"):
        return EXIT_OK
    if job.status == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_INVALID if job.invalid_input else EXIT_FAILED


@dataclass(eq=False)  # compared by identity, like every subscriber on the bus
class RunCounters(Subscriber):
    """The counts only the event stream sees: retries per job, throttled answers per job.

    A throttled answer is attributed to the job executing when it came (jobs run one after the
    other); one that came while no job was executing (planning) counts for the run only."""

    retries: dict[str, int] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)
    throttled_run: int = 0
    _current: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        """Zero every count (a watcher's next batch counts alone)."""
        with self._lock:
            self.retries.clear()
            self.throttled.clear()
            self.throttled_run = 0

    def job_started(self, job: str, total: int, total_bytes: int) -> None:
        self._current = job

    def job_finished(self, job: str) -> None:
        self._current = None

    def retrying(self, action: Action, attempt: int, wait: float, error: str) -> None:
        with self._lock:
            self.retries[action.job] = self.retries.get(action.job, 0) + 1

    def answer(self, status: int) -> None:
        """One HTTP answer was received (called for every answer by the session hook)."""
        if status not in THROTTLE_STATUSES:
            return
        with self._lock:
            self.throttled_run += 1
            if self._current is not None:
                self.throttled[self._current] = self.throttled.get(self._current, 0) + 1

    def watch(self, client: KodoClient) -> None:
        """Count the answers of ``client``'s session (part uploads included)."""

        def hook(resp: Response, *args: object, **kwargs: object) -> Response:
            self.answer(resp.status_code)
            return resp

        client.http.session.hooks["response"].append(hook)


@dataclass(frozen=True)
class RunFacts:
    """Everything the metrics say about one run: its end, exit code and (when one was made) report."""

    exit_code: int
    ended: float
    started: float
    report: Report | None = None
    directions: Mapping[str, str] = field(default_factory=dict)
    retries: Mapping[str, int] = field(default_factory=dict)
    throttled: Mapping[str, int] = field(default_factory=dict)
    throttled_run: int = 0
    previous_success: Mapping[str, float] = field(default_factory=dict)
    """Last-success timestamps carried over from the previous file (key ``""``: the run)."""


def registry_for(facts: RunFacts, *, with_success: bool = True) -> CollectorRegistry:
    """A new registry holding the metrics of ``facts`` (``with_success=False``: without the
    last-success families, for a Pushgateway POST that must keep the old ones)."""
    from prometheus_client.registry import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(facts, with_success))
    return registry


class _Collector:
    """A custom collector: metric families built from :class:`RunFacts` when collected (no
    ``_created`` series, no process-global state)."""

    def __init__(self, facts: RunFacts, with_success: bool) -> None:
        self.facts, self.with_success = facts, with_success

    def collect(self) -> Iterator[Metric]:
        yield from _run_families(self.facts, self.with_success)
        yield from _job_families(self.facts, self.with_success)


def _run_families(f: RunFacts, with_success: bool) -> Iterator[Metric]:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    yield GaugeMetricFamily(f"{PREFIX}_last_run_timestamp_seconds", "When the last run ended (Unix time).",
                            value=f.ended)
    success = f.ended if f.exit_code == EXIT_OK else f.previous_success.get("")
    if with_success and success is not None:
        yield GaugeMetricFamily(LAST_SUCCESS, "When the last successful run (exit code 0) ended (Unix time).",
                                value=success)
    yield GaugeMetricFamily(f"{PREFIX}_run_duration_seconds", "Duration of the last run.",
                            value=max(0.0, f.ended - f.started))
    yield GaugeMetricFamily(f"{PREFIX}_exit_code", "Exit code of the last run (0 ok, 1 failed, 2 invalid "
                            "input, 3 lock held, 130 interrupted).", value=f.exit_code)
    jobs = f.report.jobs if f.report is not None else ()
    actions = CounterMetricFamily(f"{PREFIX}_actions", "Actions of the last run by op and outcome.",
                                  labels=["op", "outcome"])
    for (op, outcome), n in sorted(_sum_counts(jobs).items()):
        actions.add_metric([op, outcome], n)
    yield actions
    for measure, doc in (("payload", "Payload bytes moved by the last run (each byte once)."),
                         ("wire", "Bytes on the wire in the last run (re-sends included).")):
        fam = CounterMetricFamily(f"{PREFIX}_{measure}_bytes", doc, labels=["direction"])
        for direction, n in sorted(_sum_bytes(jobs, f.directions, measure).items()):
            fam.add_metric([direction], n)
        yield fam
    yield CounterMetricFamily(f"{PREFIX}_retries", "Retries in the last run.", value=sum(f.retries.values()))
    yield CounterMetricFamily(f"{PREFIX}_throttled_answers", "Throttled answers (573/429/509) in the last run.",
                              value=f.throttled_run)


def _job_families(f: RunFacts, with_success: bool) -> Iterator[Metric]:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    jobs = f.report.jobs if f.report is not None else ()
    lbl = ["kodo_job"]
    last = GaugeMetricFamily(f"{PREFIX}_job_last_run_timestamp_seconds", "When the job last ran (Unix time).",
                             labels=lbl)
    success = GaugeMetricFamily(JOB_LAST_SUCCESS, "When the job last ended ok (Unix time).", labels=lbl)
    duration = GaugeMetricFamily(f"{PREFIX}_job_duration_seconds", "Duration of the job in the last run.",
                                 labels=lbl)
    code = GaugeMetricFamily(f"{PREFIX}_job_exit_code", "Exit code a run of only this job would have had.",
                             labels=lbl)
    info = GaugeMetricFamily(f"{PREFIX}_job_status", "The job's status in the last run (value 1).",
                             labels=["kodo_job", "kind", "status"])
    actions = CounterMetricFamily(f"{PREFIX}_job_actions", "The job's actions in the last run by op and outcome.",
                                  labels=["kodo_job", "op", "outcome"])
    payload = CounterMetricFamily(f"{PREFIX}_job_payload_bytes", "Payload bytes the job moved in the last run.",
                                  labels=["kodo_job", "direction"])
    wire = CounterMetricFamily(f"{PREFIX}_job_wire_bytes", "Bytes on the wire for the job in the last run.",
                               labels=["kodo_job", "direction"])
    retries = CounterMetricFamily(f"{PREFIX}_job_retries", "The job's retries in the last run.", labels=lbl)
    throttled = CounterMetricFamily(f"{PREFIX}_job_throttled_answers",
                                    "Throttled answers while the job executed in the last run.", labels=lbl)
    seen: set[str] = set()
    for j in jobs:
        seen.add(j.name)
        last.add_metric([j.name], f.ended)
        ok_at = f.ended if j.status == "ok" else f.previous_success.get(j.name)
        if ok_at is not None:
            success.add_metric([j.name], ok_at)
        duration.add_metric([j.name], j.duration)
        code.add_metric([j.name], job_exit_code(j))
        info.add_metric([j.name, j.kind, j.status], 1)
        for (op, outcome), n in sorted(_sum_counts([j]).items()):
            actions.add_metric([j.name, op, outcome], n)
        direction = f.directions.get(j.name, "upload")
        payload.add_metric([j.name, direction], j.moved.payload)
        wire.add_metric([j.name, direction], max(j.moved.wire, j.moved.payload))
        retries.add_metric([j.name], f.retries.get(j.name, 0))
        throttled.add_metric([j.name], f.throttled.get(j.name, 0))
    for name, ts in sorted(f.previous_success.items()):  # jobs not in this run keep their last success
        if name and name not in seen:
            success.add_metric([name], ts)
    yield from (last, duration, code, info, actions, payload, wire, retries, throttled)
    if with_success:
        yield success


def _sum_counts(jobs: Iterable[JobReport]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for j in jobs:
        for op, counts in j.counts.items():
            for outcome in _OUTCOMES:
                if counts.get(outcome):
                    out[(op, outcome)] = out.get((op, outcome), 0) + int(counts[outcome])
    return out


def _sum_bytes(jobs: Iterable[JobReport], directions: Mapping[str, str], measure: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for j in jobs:
        d = directions.get(j.name, "upload")
        n = j.moved.payload if measure == "payload" else max(j.moved.wire, j.moved.payload)
        out[d] = out.get(d, 0) + n
    return out


def previous_success(path: Path) -> dict[str, float]:
    """The last-success timestamps in an earlier metrics file (``""``: the run's; empty when
    there is no readable file: a damaged file only loses the carried-over values)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = path.read_text(encoding="utf-8")
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == LAST_SUCCESS:
                    out[""] = float(s.value)
                elif s.name == JOB_LAST_SUCCESS and s.labels.get("kodo_job"):
                    out[s.labels["kodo_job"]] = float(s.value)
        return out
    except (OSError, ValueError, UnicodeDecodeError):
        return {}


def write_file(path: Path, facts: RunFacts) -> None:
    """Write the textfile-collector file atomically (temporary file in the same folder, renamed)."""
    from prometheus_client.exposition import write_to_textfile

    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(os.fspath(path), registry_for(facts))


def push(url: str, manifest_name: str, facts: RunFacts, *, shard: str | None = None,
         timeout: float = PUSH_TIMEOUT) -> None:
    """Push to a Pushgateway: PUT (replace the group) after a success, POST without the
    last-success families otherwise. ``user:password@`` in ``url`` becomes Basic auth. Each
    shard of a sharded run (``shard="2-of-4"``) has its own group, so shards never overwrite
    each other's metrics."""
    from prometheus_client.exposition import basic_auth_handler, push_to_gateway, pushadd_to_gateway

    gateway, user, password = split_credentials(url)

    def handler(url: str, method: str, timeout: float | None, headers: list[tuple[str, str]],
                data: bytes) -> Callable[[], None]:
        return basic_auth_handler(url, method, timeout, headers, data, user, password)

    grouping = {"manifest": manifest_name, **({"shard": shard} if shard else {})}
    if facts.exit_code == EXIT_OK:
        push_to_gateway(gateway, PUSH_JOB, registry_for(facts), grouping_key=grouping, timeout=timeout,
                        handler=handler)
    else:
        pushadd_to_gateway(gateway, PUSH_JOB, registry_for(facts, with_success=False), grouping_key=grouping,
                           timeout=timeout, handler=handler)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``http://u:p@host:9091/x`` -> (``http://host:9091/x``, ``u``, ``p``); no userinfo: Nones."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return (urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)),
            unquote(parts.username or ""), unquote(parts.password or ""))


@dataclass
class RunMetrics:
    """The ``--metrics-file`` / ``--pushgateway`` outputs of one ``run`` command.

    Made by the CLI before the run; the run feeds it (:attr:`counters` on the event bus and the
    client, :meth:`set_report`); the error boundary calls :meth:`finish` with the exit code,
    whatever way the run ended."""

    manifest: Path
    metrics_file: Path | None = None
    pushgateway: str | None = None
    shard: str | None = None
    """``I/N`` of ``run --shard`` (its own Pushgateway group), or None."""
    clock: Callable[[], float] = time.time
    counters: RunCounters = field(default_factory=RunCounters)
    report: Report | None = None
    directions: dict[str, str] = field(default_factory=dict)
    started: float = 0.0

    def __post_init__(self) -> None:
        self.started = self.clock()

    def set_jobs(self, specs: Sequence[AnyJob]) -> None:
        """The selected job specs (for the bytes' direction)."""
        self.directions = {str(s.name): job_direction(s) for s in specs}

    def set_report(self, report: Report) -> None:
        """The run's report, once it is made."""
        self.report = report

    def facts(self, exit_code: int) -> RunFacts:
        """The run as the metrics see it, ending now with ``exit_code``."""
        previous = previous_success(self.metrics_file) if self.metrics_file is not None else {}
        ended = self.report.ended if self.report is not None else self.clock()
        started = self.report.started if self.report is not None else self.started
        with self.counters._lock:
            return RunFacts(exit_code=exit_code, ended=ended, started=started, report=self.report,
                            directions=dict(self.directions), retries=dict(self.counters.retries),
                            throttled=dict(self.counters.throttled),
                            throttled_run=self.counters.throttled_run, previous_success=previous)

    def finish(self, exit_code: int) -> None:
        """Write the file and push; a failure of either is one warning line on stderr, never a
        change of the run's exit code (the run's outcome is what the exit code reports)."""
        facts = self.facts(exit_code)
        if self.metrics_file is not None:
            try:
                write_file(self.metrics_file, facts)
            except OSError as exc:
                sys.stderr.write(f"kodo-jobs: warning: could not write --metrics-file {self.metrics_file}: {exc}\n")
        if self.pushgateway is not None:
            try:
                shard = self.shard.replace("/", "-of-") if self.shard else None
                push(self.pushgateway, self.manifest.stem, facts, shard=shard)
            except Exception as exc:  # noqa: BLE001 - urllib raises OSError, ValueError, http.client errors...
                safe = mask_url_credentials(str(exc))
                sys.stderr.write(f"kodo-jobs: warning: could not push metrics to "
                                 f"{mask_url_credentials(self.pushgateway)}: {safe}\n")


__all__ = ["RunCounters", "RunFacts", "RunMetrics", "job_direction", "previous_success", "push",
           "registry_for", "split_credentials", "write_file"]
