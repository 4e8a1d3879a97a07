"""Plan values: what a job intends to do, one small idempotent :class:`Action` per key.

Actions are the currency between planners (``jobs/``), the executor (``executor/``) and the
report: planners yield them, the executor streams them into the checkpoint and runs them, and
each run of an action ends in one :class:`Outcome`. Both live here (and not in ``jobs/``) so
that ``executor/`` can use them without knowing any job kind.

Rendering (:func:`render_text`, :func:`write_json`) takes per-job summaries plus a *re-iterable*
source of actions, so a 200k-action plan is written out while it is read from the SQLite
checkpoint, never held in memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from kodo_jobs.textsafe import escape_text

ID_SEP = "\x1f"
NO_CHANGE_OPS = frozenset({"same", "skip"})
"""Ops that are recorded and counted but never executed."""
READ_ONLY_OPS = frozenset({"stat"})
"""Ops that run but only read (a batch ``stat`` inventory): they never count as a change, so a
run whose only work is reading is still "nothing to do" (their data goes to the report)."""
ERROR_OP = "error"
"""A planned error (unreadable file, ...): never executed, recorded as a failure."""

Status = Literal["done", "failed", "skipped", "pending"]


@dataclass(frozen=True, slots=True)
class Action:
    """One planned operation on one key.

    ``op`` is a closed vocabulary per kind (``upload``, ``update``, ``delete``, ``same``,
    ``skip``, ``error``, ``move``, ``fetch``, ``pfop``, ``refresh``, ...). ``phase`` 1 marks a
    destructive action that runs only after every phase-0 action of its job succeeded.
    ``params`` must be JSON-serialisable: it is stored in the checkpoint and shown by
    ``plan --json``; it must never contain a secret.
    """

    job: str
    op: str
    key: str
    size: int = 0
    phase: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """Stable identity (job, op, key): a rerun finds its checkpoint row and upload session by it."""
        return action_id(self.job, self.op, self.key)

    @property
    def changes(self) -> bool:
        """True when running it changes something (not ``same``/``skip``/``error``)."""
        return self.op not in NO_CHANGE_OPS and self.op != ERROR_OP

    def to_json(self) -> dict[str, Any]:
        """The ``plan --json`` form of this action."""
        return {
            "id": self.id, "job": self.job, "op": self.op, "key": self.key,
            "size": self.size, "phase": self.phase, "params": dict(self.params),
        }


def action_id(job: str, op: str, key: str) -> str:
    """The id of the action ``(job, op, key)``; see :attr:`Action.id`."""
    return f"{job}{ID_SEP}{op}{ID_SEP}{key}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one run of one action ended.

    ``status``: ``done``; ``failed`` (final: ``code``/``reqid``/``message`` say why);
    ``skipped`` (nothing to do after all, e.g. the object already matched); ``pending`` (not
    finished: the executor tries it again with backoff, or leaves it for the next run when the
    run is stopping). ``bytes`` is the payload moved for it (each byte of the object once);
    ``wire`` the bytes that went on the wire for it, re-sent parts and failed tries included
    (0 = not measured: the payload is the best figure); ``result`` is small JSON (e.g. the
    returned hash, a persistentId) shown in the report.
    """

    action_id: str
    status: Status
    bytes: int = 0
    wire: int = 0
    code: int | None = None
    reqid: str = ""
    message: str = ""
    result: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ByteCount:
    """Bytes a run moved: ``payload`` (each byte of the data once) and ``wire`` (every request
    body that left, re-sends and failed tries included; ``wire >= payload``). The report, the
    JSON log and any metrics exporter use these two figures under these names."""

    payload: int = 0
    wire: int = 0

    @classmethod
    def of(cls, outcome: Outcome) -> ByteCount:
        """An outcome's bytes (its payload when its kind did not measure the wire)."""
        return cls(outcome.bytes, max(outcome.wire, outcome.bytes))

    def __add__(self, other: ByteCount) -> ByteCount:
        return ByteCount(self.payload + other.payload, self.wire + other.wire)


@dataclass(frozen=True, slots=True)
class OpCount:
    """How many actions of one op, and their bytes."""

    count: int = 0
    bytes: int = 0


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


def human_bytes(n: int) -> str:
    """``1536`` -> ``1.5 KiB``: binary units, as the manifest's sizes are written."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


_OP_SIGIL = {"upload": "+", "update": "~", "delete": "-", "same": "=", "skip": ".", "error": "!"}


def render_text(plan: Plan, out: IO[str], *, show_all: bool = False, fold_after: int = 20) -> None:
    """Readable plan: per job the counts per op with bytes, then the actions, folded per op.

    ``same``/``skip`` actions are only counted (listing 100k unchanged files helps nobody)
    unless ``show_all``.
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
    for (job_name, op), n in sorted(shown.items()):
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


_ACTIONS_OPEN = ', "actions": ['


@dataclass(frozen=True, slots=True)
class SavedPlan:
    """A plan written by :func:`write_json` (``plan -o FILE``), read back one action at a time."""

    path: Path
    head: Mapping[str, Any]

    @property
    def jobs(self) -> tuple[str, ...]:
        """Names of the jobs the saved plan covers."""
        return tuple(str(j["name"]) for j in self.head.get("jobs", []))

    def actions(self, job: str | None = None) -> Iterator[Action]:
        """The saved actions (of ``job``), streamed from the file."""
        with self.path.open(encoding="utf-8") as f:
            f.readline()
            for number, line in enumerate(f, start=2):
                text = line.strip().rstrip(",")
                if not text.startswith("{"):
                    continue
                action = _saved_action(text, f"{self.path} line {number}")
                if job is None or action.job == job:
                    yield action


def _saved_action(text: str, where: str) -> Action:
    """One action line of a saved plan, with its types checked (ValueError naming ``where``)."""
    try:
        d = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{where}: not a JSON action ({exc})") from exc
    if not isinstance(d, dict):
        raise ValueError(f"{where}: not a JSON action")
    job, op, key, size, phase, params = (d.get("job"), d.get("op"), d.get("key"), d.get("size", 0),
                                         d.get("phase", 0), d.get("params", {}))
    if not (isinstance(job, str) and isinstance(op, str) and isinstance(key, str)):
        raise ValueError(f"{where}: job, op and key must be strings")
    if type(size) is not int or type(phase) is not int or size < 0 or not isinstance(params, dict):
        raise ValueError(f"{where}: size and phase must be integers, params an object")
    return Action(job=job, op=op, key=key, size=size, phase=phase, params=params)


def read_saved_plan(path: Path) -> SavedPlan:
    """Open a plan file written by ``kodo-jobs plan -o``; ValueError if it is not one."""
    with path.open(encoding="utf-8") as f:
        first = f.readline().rstrip("\n")
    if not first.endswith(_ACTIONS_OPEN):
        raise ValueError(f"{path} is not a plan written by `kodo-jobs plan -o`")
    head = json.loads(first[: -len(_ACTIONS_OPEN)] + "}")
    if not isinstance(head, dict) or "jobs" not in head:
        raise ValueError(f"{path} is not a plan written by `kodo-jobs plan -o`")
    return SavedPlan(path, head)
