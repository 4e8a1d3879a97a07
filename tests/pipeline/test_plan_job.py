"""``pipeline.plan_job``: a job's actions into the checkpoint (unchanged rows only when listed)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from kodo_jobs.actions import Action
from kodo_jobs.executor.checkpoint import Checkpoint
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.pipeline.plan_job import plan_job


def _unchanged_plan() -> list[Action]:
    return ([Action("j", "upload", "a", 5, params={"path": "/a"})]
            + [Action("j", "same", f"s{i}", 10, params={"path": f"/s{i}"}) for i in range(300)]
            + [Action("j", "skip", "x", params={"reason": "filtered"}),
               Action("j", "error", "e", params={"message": "unreadable"})])


def test_plan_job_keeps_unchanged_rows_in_dry_runs_only_unless_told(tmp_path: Path) -> None:
    spec = SimpleNamespace(name="j", kind="sync")
    with Checkpoint(tmp_path / "s") as cp:
        def stored(dry_run: bool, rows: bool | None = None) -> list[str]:
            ctx = JobContext(client=None, spec=spec, state=cp, dry_run=dry_run)
            plan_job(spec, ctx, cp, gen=f"{dry_run}{rows}", actions=_unchanged_plan(),
                     unchanged_rows=rows)
            assert cp.counts("j")["j"]["same"]["skipped"] == 300
            return sorted({a.op for a in cp.iter_actions("j")})

        assert stored(dry_run=True) == ["error", "same", "skip", "upload"]
        assert stored(dry_run=False) == ["error", "upload"]
        assert stored(dry_run=True, rows=False) == ["error", "upload"]
        assert stored(dry_run=False, rows=True) == ["error", "same", "skip", "upload"]


def test_only_keys_keeps_the_actions_of_those_keys(tmp_path: Path) -> None:
    spec = SimpleNamespace(name="j", kind="sync")
    with Checkpoint(tmp_path / "s") as cp:
        ctx = JobContext(client=None, spec=spec, state=cp, dry_run=True)
        counts = plan_job(spec, ctx, cp, gen="g", actions=_unchanged_plan(),
                          only_keys={"a", "s7"})
        assert {op: c.count for op, c in counts.items()} == {"upload": 1, "same": 1}
        assert sorted(a.key for a in cp.iter_actions("j")) == ["a", "s7"]
