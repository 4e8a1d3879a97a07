"""Run history: bounded rows, old summaries compacted by count and age (injected clock)."""

from __future__ import annotations

from pathlib import Path

from kodo_jobs.executor.checkpoint import KEEP_FULL_RUNS, SUMMARY_RETENTION, Checkpoint


def test_run_history_is_bounded(tmp_path: Path) -> None:
    from kodo_jobs.executor import checkpoint

    with Checkpoint(tmp_path / "s") as cp:
        for i in range(checkpoint.KEEP_RUNS + 30):
            cp.begin_run(f"r{i}", "A", ["j"], dry_run=False)
            cp.end_run(f"r{i}", "ok", {"n": i})
        assert cp._db.execute("SELECT count(*) FROM runs").fetchone()[0] == checkpoint.KEEP_RUNS
        last = cp.last_run()
        assert last is not None and last.id == f"r{checkpoint.KEEP_RUNS + 29}"


def _summaries(cp: Checkpoint) -> dict[str, bool]:
    return {str(r[0]): r[1] is not None for r in cp._db.execute("SELECT id, summary FROM runs ORDER BY seq")}


def test_old_summaries_are_dropped_past_the_newest_runs_and_the_retention(tmp_path: Path) -> None:
    """A daily cron: the newest KEEP_FULL_RUNS runs and the last SUMMARY_RETENTION keep their
    report summary; older finished runs keep their row (id, times, status) without it."""
    now = [1_767_225_600.0]
    days = 120
    with Checkpoint(tmp_path / "s", clock=lambda: now[0]) as cp:
        for d in range(days):
            now[0] = 1_767_225_600.0 + d * 86400
            cp.begin_run(f"r{d}", "A", ["j"], dry_run=False)
            cp.end_run(f"r{d}", "ok", {"jobs": [{"name": "j", "failures": ["x" * 1000]}]})
        kept = _summaries(cp)
        assert len(kept) == days  # rows stay (fewer than KEEP_RUNS)
        full = [run for run, has in kept.items() if has]
        assert full == [f"r{d}" for d in range(days - KEEP_FULL_RUNS, days)]
        last = cp.last_run()
        assert last is not None and last.summary["jobs"]
        old = cp._db.execute("SELECT status, ended FROM runs WHERE id = 'r0'").fetchone()
        assert old[0] == "ok" and old[1] is not None


def test_frequent_runs_keep_their_summaries_within_the_retention(tmp_path: Path) -> None:
    now = [1_767_225_600.0]
    with Checkpoint(tmp_path / "s", clock=lambda: now[0]) as cp:
        for i in range(KEEP_FULL_RUNS + 40):
            now[0] = 1_767_225_600.0 + i * 600
            cp.begin_run(f"r{i}", "A", ["j"], dry_run=False)
            cp.end_run(f"r{i}", "ok", {"n": i})
        assert all(_summaries(cp).values())  # ten-minute runs: all younger than SUMMARY_RETENTION
        now[0] += SUMMARY_RETENTION + 1
        cp.begin_run("late", "A", ["j"], dry_run=False)
        cp.end_run("late", "ok", {"n": -1})
        assert sum(_summaries(cp).values()) == KEEP_FULL_RUNS


def test_unfinished_run_without_summary_is_left_alone(tmp_path: Path) -> None:
    """A run that never ended (killed) has no summary to drop and still counts for resuming."""
    now = [1_767_225_600.0]
    with Checkpoint(tmp_path / "s", clock=lambda: now[0]) as cp:
        cp.begin_run("killed", "A", ["j"], dry_run=False)
        for i in range(KEEP_FULL_RUNS + 5):
            now[0] += 40 * 86400
            cp.begin_run(f"r{i}", "B", ["j"], dry_run=False)
            cp.end_run(f"r{i}", "failed", {"n": i})
        row = cp._db.execute("SELECT status, ended, summary FROM runs WHERE id = 'killed'").fetchone()
        assert row == ("running", None, None)
        assert cp.unfinished_runs("B")[:2] == [f"r{KEEP_FULL_RUNS + 4}", f"r{KEEP_FULL_RUNS + 3}"]
