"""Plan values: what a job intends to do, one small idempotent :class:`Action` per key.

Actions are the currency between planners (``jobs/``), the executor (``executor/``) and the
report: planners yield them, the executor streams them into the checkpoint and runs them, and
each run of an action ends in one :class:`Outcome`. Both live here (and not in ``jobs/``) so
that ``executor/`` can use them without knowing any job kind. Showing a plan is
:mod:`kodo_jobs.pipeline.plan_render`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Literal

from typing_extensions import TypeVar

ID_SEP = "\x1f"
NO_CHANGE_OPS = frozenset({"same", "skip"})
"""Ops that are recorded and counted but never executed."""
READ_ONLY_OPS = frozenset({"stat"})
"""Ops that run but only read (a batch ``stat`` inventory): they never count as a change, so a
run whose only work is reading is still "nothing to do" (their data goes to the report)."""
ERROR_OP: Final = "error"
"""A planned error (unreadable file, ...): never executed, recorded as a failure."""

Status = Literal["done", "failed", "skipped", "pending"]

OpT = TypeVar("OpT", bound=str, default=str, covariant=True)
"""An action's op: each kind has its closed set (:mod:`kodo_jobs.jobs.ops`); plain ``Action``
is ``Action[str]``, what the checkpoint and a saved plan give back."""


@dataclass(frozen=True, slots=True)
class Action(Generic[OpT]):
    """One planned operation on one key.

    ``op`` is a closed vocabulary per kind (a ``Literal``: ``Action[SyncOp]``) (``upload``, ``update``, ``delete``, ``same``,
    ``skip``, ``error``, ``move``, ``fetch``, ``pfop``, ``refresh``, ...). ``phase`` 1 marks a
    destructive action that runs only after every phase-0 action of its job succeeded.
    ``params`` must be JSON-serialisable: it is stored in the checkpoint and shown by
    ``plan --json``; it must never contain a secret.
    """

    job: str
    op: OpT
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
