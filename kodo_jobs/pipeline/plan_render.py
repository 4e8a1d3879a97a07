"""A plan shown to a person (text) or written for a machine (JSON, ``plan -o``).

Rendering takes per-job summaries plus a *re-iterable* source of actions, so a 200k-action
plan is written out while it is read from the SQLite checkpoint, never held in memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from kodo_jobs.actions import ERROR_OP, NO_CHANGE_OPS, Action, OpCount
from kodo_jobs.textsafe import escape_text
from kodo_jobs.units import human_bytes


@dataclass(frozen=True, slots=True)
class JobPlan:
    """Per-job plan summary: the counts per op (the actions themselves stay in the checkpoint)."""

    name: str
    kind: str
    summary: Mapping[str, OpCount]
    note: str = ""  # e.g. "skipped: needs 'site' failed"

    @property
    def changes(self) -> int:
        """Number of actions that would change something."""
        return sum(c.count for op, c in self.summary.items() if op not in NO_CHANGE_OPS and op != ERROR_OP)


@dataclass(frozen=True, slots=True)
class Plan:
    """A whole plan: per-job summaries plus a way to stream the actions again (from the checkpoint)."""

    manifest: str
    jobs: tuple[JobPlan, ...]
    actions: Callable[[], Iterator[Action]]
    manifest_sha: str = ""
    """Fingerprint of the manifest file the plan was made from (``run --plan`` checks it)."""
    saved_header: Mapping[str, Any] = field(default_factory=dict)
    """Extra header fields of a saved plan file (format version, creation time); see saved_plan.py."""

    @property
    def summary(self) -> dict[str, OpCount]:
        """Counts per op over every job."""
        total: dict[str, OpCount] = {}
        for job in self.jobs:
            for op, c in job.summary.items():
                t = total.get(op, OpCount())
                total[op] = OpCount(t.count + c.count, t.bytes + c.bytes)
        return total

    @property
    def changes(self) -> int:
        """Number of actions that would change something, over every job."""
        return sum(j.changes for j in self.jobs)


def summarise(actions: Iterable[Action]) -> dict[str, OpCount]:
    """Counts and bytes per op (used for small in-memory plans and tests)."""
    out: dict[str, OpCount] = {}
    for a in actions:
        c = out.get(a.op, OpCount())
        out[a.op] = OpCount(c.count + 1, c.bytes + a.size)
    return out


FOLD_AFTER = 20
"""Actions of one op the text plan lists before folding the rest into "... N more"."""

_OP_SIGIL = {"upload": "+", "update": "~", "delete": "-", "same": "=", "skip": ".", "error": "!"}


def render_text(plan: Plan, out: IO[str], *, show_all: bool = False, fold_after: int = FOLD_AFTER) -> None:
    """Readable plan: per job the counts per op with bytes, then the actions, folded per op.

    ``same``/``skip`` actions are only counted (listing 100k unchanged files helps nobody)
    unless ``show_all``. The folded tail ("... N more") is counted from the job's summary, so
    ``actions`` may hold only the first ``fold_after`` of each op.
    """
    e = escape_text  # keys, names and messages are untrusted: one action stays one line, no terminal control
    out.write(f"plan for {e(plan.manifest)}\n")
    for job in plan.jobs:
        out.write(f"\njob {e(job.name)} ({e(job.kind)})")
        out.write(f": {e(job.note)}\n" if job.note else "\n")
        if not job.summary:
            out.write("  nothing to do\n")
        for op in sorted(job.summary):
            c = job.summary[op]
            out.write(f"  {e(op):<10} {c.count:>8}  {human_bytes(c.bytes):>10}\n")
    shown: dict[tuple[str, str], int] = {}
    listed_header = False
    for a in plan.actions():
        if not show_all and not a.changes and a.op != ERROR_OP:
            continue
        n = shown.get((a.job, a.op), 0)
        shown[(a.job, a.op)] = n + 1
        if not show_all and n >= fold_after:
            continue
        if not listed_header:
            out.write("\nactions:\n")
            listed_header = True
        sigil = _OP_SIGIL.get(a.op, "*")
        size = f" ({human_bytes(a.size)})" if a.size else ""
        reason = f"  [{e(str(a.params['message']))}]" if a.op == ERROR_OP and "message" in a.params else ""
        out.write(f"  {sigil} {e(a.job)}: {e(a.op)} {e(a.key)}{size}{reason}\n")
    planned = {(j.name, op): c.count for j in plan.jobs for op, c in j.summary.items()}
    for (job_name, op), n in sorted(shown.items()):
        n = max(n, planned.get((job_name, op), 0))  # a shown plan may keep only the first rows of an op
        if not show_all and n > fold_after:
            out.write(f"  ... {e(job_name)}: {n - fold_after} more {e(op)} (use --all to list them)\n")
    total = plan.summary
    changes = plan.changes
    parts = [f"{escape_text(op)} {c.count}" for op, c in sorted(total.items())]
    out.write(f"\n{changes} change(s); " + (", ".join(parts) if parts else "no actions") + "\n")


def write_json(plan: Plan, out: IO[str]) -> None:
    """``plan --json``: one JSON document, the actions streamed out one by one."""

    def counts(summary: Mapping[str, OpCount]) -> dict[str, dict[str, int]]:
        return {op: {"count": c.count, "bytes": c.bytes} for op, c in sorted(summary.items())}

    head = {
        "manifest": plan.manifest,
        "jobs": [
            {"name": j.name, "kind": j.kind, "summary": counts(j.summary), **({"note": j.note} if j.note else {})}
            for j in plan.jobs
        ],
        "summary": counts(plan.summary),
        "changes": plan.changes,
        **({"manifest_sha": plan.manifest_sha} if plan.manifest_sha else {}),
        **dict(plan.saved_header),
    }
    text = json.dumps(head, ensure_ascii=False)
    out.write(text[:-1] + ', "actions": [')
    first = True
    for a in plan.actions():
        out.write(("\n  " if first else ",\n  ") + json.dumps(a.to_json(), ensure_ascii=False))
        first = False
    out.write("\n]}\n" if not first else "]}\n")


ACTIONS_OPEN = ', "actions": ['
