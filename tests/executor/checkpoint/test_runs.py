"""Run history: bounded rows."""

from __future__ import annotations

from pathlib import Path

from kodo_jobs.executor.checkpoint import Checkpoint


def test_run_history_is_bounded(tmp_path: Path) -> None:
    from kodo_jobs.executor import checkpoint

    with Checkpoint(tmp_path / "s") as cp:
        for i in range(checkpoint.KEEP_RUNS + 30):
            cp.begin_run(f"r{i}", "A", ["j"], dry_run=False)
            cp.end_run(f"r{i}", "ok", {"n": i})
        assert cp._db.execute("SELECT count(*) FROM runs").fetchone()[0] == checkpoint.KEEP_RUNS
        last = cp.last_run()
        assert last is not None and last.id == f"r{checkpoint.KEEP_RUNS + 29}"
