"""``watch --metrics-file``: each refresh describes the last batch alone, and a failed batch
keeps the last success (the end-to-end refresh is in tests/e2e/test_watch.py)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from kodo_jobs.actions import Action
from kodo_jobs.pipeline.report import Report
from kodo_jobs.watch.metrics import BatchMetrics


def _samples(path: Path) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(path.read_text()) for s in f.samples
            if not s.labels}


def test_each_batch_counts_alone_and_a_failed_batch_keeps_the_last_success(tmp_path: Path) -> None:
    prom = tmp_path / "watch.prom"
    metrics = BatchMetrics(tmp_path / "m.yaml", prom, None, specs=())
    bus_subscribers = metrics.subscribers()
    for _ in range(2):
        bus_subscribers[0].retrying(Action("site", "upload", "k"), 1, 0.1, "503")
    metrics.counters.answer(573)
    metrics.batch_done(Report("m.yaml", "r1", 100.0, 110.0, "ok", ()))
    first = _samples(prom)
    assert first["kodo_jobs_retries_total"] == 2
    assert first["kodo_jobs_throttled_answers_total"] == 1
    assert first["kodo_jobs_exit_code"] == 0
    assert first["kodo_jobs_last_success_timestamp_seconds"] == 110.0

    metrics.subscribers()  # the next batch starts from zero
    metrics.batch_done(Report("m.yaml", "r2", 200.0, 205.0, "failed", ()))
    second = _samples(prom)
    assert second["kodo_jobs_retries_total"] == 0
    assert second["kodo_jobs_throttled_answers_total"] == 0
    assert second["kodo_jobs_exit_code"] == 1
    assert second["kodo_jobs_last_run_timestamp_seconds"] == 205.0
    assert second["kodo_jobs_last_success_timestamp_seconds"] == 110.0
