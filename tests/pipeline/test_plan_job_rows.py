"""plan_job: a plan streamed into a checkpoint, with every row or only the rows a text plan shows."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from kodo_jobs.actions import Action, OpCount
from kodo_jobs.executor.checkpoint import Checkpoint
from kodo_jobs.pipeline.plan_job import plan_job
from kodo_jobs.pipeline.plan_render import JobPlan, Plan, render_text


def _actions() -> list[Action]:
    return ([Action("site", "upload", f"u{i:03d}", size=2) for i in range(50)]
            + [Action("site", "same", f"s{i:03d}", size=3) for i in range(30)]
            + [Action("site", "error", "bad", params={"message": "cannot read"})])


def _plan(cp: Checkpoint, **kw: Any) -> dict[str, OpCount]:
    spec = SimpleNamespace(name="site", kind="sync")
    ctx: Any = SimpleNamespace(dry_run=True)
    return plan_job(spec, ctx, cp, gen="plan", actions=iter(_actions()), **kw)


def test_rows_per_op_keeps_the_first_rows_and_counts_everything(tmp_path: Path) -> None:
    cp = Checkpoint(tmp_path / "s.kjstate")
    try:
        summary = _plan(cp, rows_per_op=20)
        stored = list(cp.iter_actions("site"))
    finally:
        cp.close()
    assert summary == {"upload": OpCount(50, 100), "same": OpCount(30, 90), "error": OpCount(1, 0)}
    assert [a.key for a in stored if a.op == "upload"] == [f"u{i:03d}" for i in range(20)]
    assert len([a for a in stored if a.op == "same"]) == 20
    assert [a.key for a in stored if a.op == "error"] == ["bad"]
    # the text plan folds from the summary: the same output as with every row stored
    out = io.StringIO()
    render_text(Plan("m.yaml", (JobPlan("site", "sync", summary),), lambda: iter(stored)), out)
    full = io.StringIO()
    render_text(Plan("m.yaml", (JobPlan("site", "sync", summary),), lambda: iter(_actions())), full)
    assert out.getvalue() == full.getvalue()
    assert "... site: 30 more upload (use --all to list them)" in out.getvalue()


def test_without_rows_per_op_every_row_is_stored(tmp_path: Path) -> None:
    cp = Checkpoint(tmp_path / "s.kjstate")
    try:
        summary = _plan(cp, unchanged_rows=True)
        stored = list(cp.iter_actions("site"))
    finally:
        cp.close()
    assert summary["upload"] == OpCount(50, 100)
    assert len(stored) == 81
