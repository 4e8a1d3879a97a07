"""``plan --format markdown``: a plan as a pull-request comment.

A reviewer reads the plan where the manifest change is reviewed. The comment has, in order:
the changes and the destructive ops called out first (a ``delete`` must not hide below 10,000
uploads), a summary table per job (count and bytes per op, destructive ops first), the first
:data:`PER_OP` actions of each op in collapsible ``<details>`` sections, and a footer with the
manifest's fingerprint (the one ``run --plan`` checks).

Size: GitHub refuses comments over 65,536 characters. The head and the tables always fit (they
are bounded by jobs x ops); the action lists get what is left of :data:`LIMIT` and stop at the
first line that would not fit; the footer says how many listed actions were folded.

Escaping: keys, job names and notes are untrusted and a comment is HTML. Each is shown as a
code span (no emphasis, link, autolink, image or HTML inside one) whose backtick fence is longer
than any backtick run in the text; control and bidi characters are made visible first
(:func:`~kodo_jobs.textsafe.escape_text`, so a newline cannot end a table row), and in table
cells ``|`` is written ``\\|`` (GFM splits cells before it reads code spans). Text inside the
HTML ``<summary>`` is HTML-escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import IO

from kodo_jobs.actions import ERROR_OP, NO_CHANGE_OPS, Action, OpCount
from kodo_jobs.pipeline.plan_render import JobPlan, Plan
from kodo_jobs.textsafe import escape_text
from kodo_jobs.units import human_bytes

LIMIT = 65_536
"""GitHub's limit on a comment's length, in characters; the rendering stays strictly below it."""
PER_OP = 50
"""Actions listed per job and op."""
DESTRUCTIVE_OPS = frozenset({"delete", "move", "rename", "update", "expire", "deleteAfterDays",
                             "lifecycle", "chstatus"})
"""Ops that remove or overwrite data (or make it unreachable): shown first, marked."""
HEAD_JOBS = 20
"""Jobs named in the destructive call-out at the top (the rest are counted)."""
_FOOTER_RESERVE = 600
"""Characters kept for the fold note and the footer."""
_BACKTICKS = re.compile(r"`+")


def code(text: str, *, cell: bool = False) -> str:
    """``text`` as one Markdown code span that shows it literally (``cell``: inside a table)."""
    safe = escape_text(text)
    if cell:
        safe = safe.replace("|", "\\|")
    longest = max((len(m) for m in _BACKTICKS.findall(safe)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each end when both ends have one: pad to keep them
    pad = " " if safe[:1] in ("`", " ", "") or safe[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{safe}{pad}{fence}"


def _html(text: str) -> str:
    return html.escape(escape_text(text), quote=True)


def _op_order(ops: Iterable[str]) -> list[str]:
    """Destructive ops first, then the other changes, then no-change ops; by name inside each."""
    return sorted(ops, key=lambda op: (0 if op in DESTRUCTIVE_OPS else 2 if op in NO_CHANGE_OPS else 1, op))


def _mark(op: str) -> str:
    return " ⚠️" if op in DESTRUCTIVE_OPS else ""


def render_markdown(plan: Plan, out: IO[str], *, limit: int = LIMIT, per_op: int = PER_OP) -> int:
    """Write the comment to ``out``; returns its length in characters (always < ``limit``)."""
    text = markdown(plan, limit=limit, per_op=per_op)
    out.write(text)
    return len(text)


def markdown(plan: Plan, *, limit: int = LIMIT, per_op: int = PER_OP) -> str:
    """The whole comment as one string (see the module docstring)."""
    head = _head(plan) + "".join(_job_table(j) for j in plan.jobs)
    if len(head) + _FOOTER_RESERVE >= limit:  # thousands of jobs: keep the totals, fold the tables
        head = _head(plan) + f"\n_{len(plan.jobs)} job tables folded to stay under {limit:,} characters._\n"
    body, listed, folded = _action_sections(plan, budget=limit - len(head) - _FOOTER_RESERVE, per_op=per_op)
    text = head + body + _footer(plan, listed, folded, limit, per_op)
    if len(text) >= limit:  # unreachable with sane names; never post a comment GitHub refuses
        text = text[: limit - 40] + "\n\n_(truncated at the size limit)_\n"
    return text


def _head(plan: Plan) -> str:
    lines = [f"### kodo-jobs plan for {code(plan.manifest)}", ""]
    total = plan.summary
    destructive = [(op, total[op]) for op in _op_order(total) if op in DESTRUCTIVE_OPS and total[op].count]
    lines.append(f"**{plan.changes:,} change(s)** in {len(plan.jobs)} job(s)" if plan.changes
                 else "**No changes.**")
    if destructive:
        lines += ["", "> [!WARNING]", "> **Destructive:** " + ", ".join(
            f"{c.count:,} {code(op)} ({human_bytes(c.bytes)})" for op, c in destructive)]
        named = 0
        for job in plan.jobs:
            ops = [f"{job.summary[op].count:,} {code(op)}" for op in _op_order(job.summary)
                   if op in DESTRUCTIVE_OPS and job.summary[op].count]
            if ops:
                named += 1
                if named <= HEAD_JOBS:
                    lines.append(f"> - job {code(job.name)}: " + ", ".join(ops))
        if named > HEAD_JOBS:
            lines.append(f"> - and {named - HEAD_JOBS:,} more job(s) with destructive ops (see their tables)")
    errors = total.get(ERROR_OP)
    if errors is not None and errors.count:
        lines += ["", f"**{errors.count:,} planning error(s)** (listed below)."]
    return "\n".join(lines) + "\n"


def _job_table(job: JobPlan) -> str:
    lines = ["", f"#### Job {code(job.name)} ({code(job.kind)})", ""]
    if job.note:
        lines += [f"Note: {code(job.note)}", ""]
    if not job.summary:
        return "\n".join([*lines, "Nothing to do."]) + "\n"
    lines += ["| op | count | bytes |", "|---|---:|---:|"]
    for op in _op_order(job.summary):
        c: OpCount = job.summary[op]
        lines.append(f"| {code(op, cell=True)}{_mark(op)} | {c.count:,} | {human_bytes(c.bytes)} |")
    return "\n".join(lines) + "\n"


def _action_sections(plan: Plan, *, budget: int, per_op: int) -> tuple[str, int, int]:
    """The ``<details>`` sections: (text, actions listed, listable actions folded by the size limit)."""
    lines: dict[tuple[str, str], list[str]] = {}
    seen: dict[tuple[str, str], int] = {}
    used = 0
    listed = folded = 0
    full = False
    for a in plan.actions():
        if a.op in NO_CHANGE_OPS:
            continue
        k = (a.job, a.op)
        seen[k] = seen.get(k, 0) + 1
        if seen[k] > per_op:
            continue
        if full:
            folded += 1
            continue
        line = _action_line(a)
        cost = len(line) + 1 + (0 if k in lines else 160)  # a new section's <details>/<summary> lines
        if used + cost > budget:  # from here on only counted: the list stops at the size limit
            full = True
            folded += 1
            continue
        used += cost
        listed += 1
        lines.setdefault(k, []).append(line)
    parts: list[str] = []
    order = {j.name: i for i, j in enumerate(plan.jobs)}
    keys = sorted(lines, key=lambda k: (order.get(k[0], 0), 0 if k[1] in DESTRUCTIVE_OPS else 1, k[1]))
    # the job's counts, not the rows read: `plan` stores only the rows it can show of each op
    counted = {(j.name, op): c.count for j in plan.jobs for op, c in j.summary.items()}
    for job, op in keys:
        n, shown = max(seen[(job, op)], counted.get((job, op), 0)), len(lines[(job, op)])
        title = f"{_html(job)}: {_html(op)}{_mark(op)}, first {shown:,} of {n:,}"
        parts += ["", f"<details><summary>{title}</summary>", "", *lines[(job, op)], "", "</details>"]
    return ("\n".join(parts) + "\n" if parts else ""), listed, folded


def _action_line(a: Action) -> str:
    size = f" ({human_bytes(a.size)})" if a.size else ""
    reason = f": {code(str(a.params['message']))}" if a.op == ERROR_OP and "message" in a.params else ""
    return f"- {code(a.key)}{size}{reason}"


def _footer(plan: Plan, listed: int, folded: int, limit: int, per_op: int) -> str:
    fold = (f"\n\n**Folded:** {folded:,} more action(s) were not listed to stay under GitHub's {limit:,}-character "
            "comment limit; `kodo-jobs plan --json` lists every action." if folded else "")
    sha = f"manifest sha256 {code(plan.manifest_sha)}" if plan.manifest_sha else "manifest fingerprint unknown"
    return (f"\n---{fold}\n\n<sub>{sha} · {listed:,} action(s) listed, at most {per_op} per op · "
            "generated by `kodo-jobs plan --format markdown`</sub>\n")


__all__ = ["DESTRUCTIVE_OPS", "LIMIT", "PER_OP", "code", "markdown", "render_markdown"]
