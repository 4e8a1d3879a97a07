"""``kind: batch``: one rs operation over explicit keys, a keys file, or a ``select`` of a listing.

Plan: one action per key, ``op`` named as in the manifest (``move``, ``copy``, ``rename``,
``delete``, ``chtype``, ``chgm``, ``deleteAfterDays``, ``chstatus``, ``restoreAr``,
``lifecycle``, ``stat``); destinations are resolved while planning so the plan shows them.
Destructive actions (the source key goes away, an expiry or a disable is set, or ``force``
overwrites a destination) are phase 1: the executor runs them only after a clean phase 0. When
their count exceeds ``max_ops`` the plan ends with one ``error`` action that says so and how to
override it; that failure keeps the whole destructive phase from running (like sync's
``max_delete``).

Run: the actions of one call become rs batch requests of at most ``batch_size`` ops; each op's
own result decides its outcome. On a 298 only the failed *retryable* ops (5xx/599/573) come
back ``pending`` for another attempt; the others fail at once with their key and code. A delete
of a key that is already gone (612) counts as skipped, so a rerun after a crash is clean.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from kodo_jobs.actions import ERROR_OP, Action, Outcome
from kodo_jobs.jobs import batch_state as converge
from kodo_jobs.jobs import soft_delete
from kodo_jobs.jobs.base import JobContext, JobKind
from kodo_jobs.jobs.batch_state import Current
from kodo_jobs.jobs.keys import read_keys_file
from kodo_jobs.jobs.ops import BatchOp as BatchActionOp
from kodo_jobs.jobs.select import from_spec as select_filter
from kodo_jobs.jobs.tries import Tries, max_attempts, outcome_for_error
from kodo_jobs.kodo.rs import MAX_BATCH, BatchOp, BatchResult, ops

if TYPE_CHECKING:
    from kodo_jobs.kodo.rsf import ListEntry
    from kodo_jobs.manifest.spec_batch import BatchJob
    from kodo_jobs.manifest.spec_batch import BatchOp as OpSpec
    from kodo_jobs.manifest.spec_common import KeySource
    from kodo_jobs.manifest.types import Percent

PAIR_OPS = frozenset({"move", "copy", "rename"})
"""Ops with a destination key; a keys-file line ``src<TAB>dst`` gives it explicitly."""

_TRIES = Tries()



class BatchParams(TypedDict, total=False):
    """A batch action's params: what the planner resolved, so the plan shows it."""

    line: int
    """The keys-file line of the key."""
    dest_bucket: str
    dest_key: str
    """Where a move/copy/rename (or a soft delete into the trash) goes."""
    soft: Literal["trash", "expire"]
    days: int | None
    """A soft delete: moved to the trash, or expired after ``days``."""
    fp: str
    version: str
    """A recorded op: its fingerprint and the object version it is applied to."""


def kept_params(saved: Mapping[str, Any]) -> BatchParams:
    """The params of a saved action that the job cannot derive again: its keys-file line and
    the version it was planned against (the rest is rebuilt and compared)."""
    kept = BatchParams()
    if "line" in saved:
        kept["line"] = saved["line"]
    if "fp" in saved:
        kept["fp"] = saved["fp"]
    if "version" in saved:
        kept["version"] = saved["version"]
    return kept


_Pending = tuple[str, int, BatchParams, "ListEntry | None"]
"""A candidate still to decide: (key, size, params so far, listing entry or None)."""

Candidate = tuple[str, int, str | None, int | None, "ListEntry | None"]
"""(key, size, explicit destination, keys-file line, listing entry or None)."""


def is_destructive(spec: BatchJob) -> bool:
    """True when the job's op removes, hides, expires or overwrites objects."""
    op = spec.op
    if op.name in ("delete", "move", "rename"):
        return True
    if op.copy_ is not None:
        return op.forced or spec.force
    if op.expire is not None:
        return op.expire.days > 0
    if op.chstatus is not None:
        return op.chstatus.status == 1
    if op.lifecycle is not None:
        return op.lifecycle.delete_after_days > 0
    return False


def _destination(spec: BatchJob, key: str, explicit: str | None) -> tuple[str, str]:
    """(bucket, key) a move/copy/rename of ``key`` goes to; ValueError when it cannot be derived."""
    rename = spec.op.rename
    if rename is not None:
        if explicit is not None:
            return spec.bucket, explicit
        if rename.to is not None:
            return spec.bucket, rename.to
        if rename.replace_prefix is not None:
            if not key.startswith(rename.replace_prefix):
                raise ValueError(f"key does not start with replace_prefix {rename.replace_prefix!r}")
            return spec.bucket, rename.with_prefix + key[len(rename.replace_prefix):]
        pattern = re.compile(rename.regex or "")  # the model holds exactly one of to/replace_prefix/regex
        if not pattern.search(key):
            raise ValueError(f"key does not match regex {rename.regex!r}")
        return spec.bucket, pattern.sub(rename.replacement, key, count=1)
    params = spec.op.move or spec.op.copy_
    if params is None:
        raise ValueError(f"{spec.op.name} has no destination")
    bucket = params.bucket or spec.bucket
    if explicit is not None:
        return bucket, explicit
    if not key.startswith(params.strip_prefix):
        raise ValueError(f"key does not start with strip_prefix {params.strip_prefix!r}")
    return bucket, params.dest_prefix + key[len(params.strip_prefix):]


def key_sources(spec: KeySource, ctx: JobContext[KeySource], seen: list[int]) -> Iterator[tuple[str, int, str | None, int | None]]:
    """(key, size, explicit destination, keys-file line) per candidate; ``seen[0]`` counts the scope."""
    for key, size, explicit, line, _entry in key_entries(spec, ctx, seen):
        yield key, size, explicit, line


def key_entries(spec: KeySource, ctx: JobContext[KeySource], seen: list[int]) -> Iterator[Candidate]:
    """Like :func:`key_sources`, plus the listing entry of a selected key (None for given keys)."""
    if spec.keys is not None:
        for key in spec.keys:
            seen[0] += 1
            yield key, 0, None, None, None
    elif spec.keys_file is not None:
        for line in read_keys_file(spec.keys_file, pairs=False):
            seen[0] += 1
            yield line.key, 0, line.dest, line.line, None
    else:
        flt = select_filter(spec.select if spec.select is not None else {})
        check = not flt.prefix_only  # the listing already keeps to the prefix
        # read_ahead: the next page is on its way while this one is planned and stored
        with closing(ctx.client.rsf.list(spec.bucket, prefix=flt.prefix, read_ahead=True)) as entries:
            for entry in entries:
                seen[0] += 1
                if not check or flt.matches(entry):
                    yield entry.key, entry.fsize, None, None, entry


def _stat_many(ctx: JobContext[BatchJob], pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Current]:
    """Stat (bucket, key) pairs with batch requests; those that exist -> their stat data."""
    found: dict[tuple[str, str], Current] = {}
    for start in range(0, len(pairs), MAX_BATCH):
        chunk = pairs[start:start + MAX_BATCH]
        for res in ctx.client.rs.batch([ops.stat(b, k) for b, k in chunk]):
            if res.ok:
                found[(res.op.bucket, res.op.key)] = dict(res.data)
            elif res.code != 612:
                exc = res.exception
                assert exc is not None
                raise exc
    return found


def _limit(limit: int | Percent | None, total: int) -> int | None:
    if limit is None:
        return None
    return limit if isinstance(limit, int) else limit.of(total)


class BatchKind:
    """The ``batch`` job kind."""

    kind = "batch"
    batch_size = MAX_BATCH

    def plan(self, spec: BatchJob, ctx: JobContext[BatchJob]) -> Iterator[Action[BatchActionOp]]:
        """One action per selected key, destructive ones in phase 1, then the max_ops verdict."""
        name = spec.op.name
        destructive = is_destructive(spec)
        phase = 1 if destructive else 0
        seen = [0]
        count = [0]
        chunk: list[Action[BatchActionOp] | _Pending] = []  # in candidate order
        for key, size, explicit, line, entry in key_entries(spec, ctx, seen):
            params = BatchParams()
            if line is not None:
                params["line"] = line
            early = self._prepare(spec, key, size, explicit, params)
            chunk.append(early if early is not None else (key, size, params, entry))
            if len(chunk) >= MAX_BATCH:
                yield from self._decide(spec, ctx, chunk, phase, count)
                chunk = []
        yield from self._decide(spec, ctx, chunk, phase, count)
        count_total = count[0]
        limit = _limit(spec.max_ops, seen[0]) if destructive else None
        if limit is not None and count_total > limit:
            shown = f"{spec.max_ops} of {seen[0]} = {limit}" if hasattr(spec.max_ops, "of") else str(limit)
            yield Action(spec.name, ERROR_OP, "(max_ops)", 0, 0, {"message": (
                f"refused: {count_total} {name} operations exceed max_ops ({shown}); nothing destructive "
                f"will run. Check the selection, then raise max_ops (e.g. max_ops: {count}) "
                "or remove it to allow them")})

    @staticmethod
    def _prepare(spec: BatchJob, key: str, size: int, explicit: str | None,
                 params: BatchParams) -> Action[BatchActionOp] | None:
        """Fill a candidate's destination or soft-delete params; an error or skip ends it here."""
        name, soft = spec.op.name, spec.soft_delete
        if name in PAIR_OPS:
            try:
                dst_bucket, dst_key = _destination(spec, key, explicit)
            except (ValueError, re.error) as exc:
                where = f"{spec.keys_file}:{params['line']}: " if "line" in params else ""
                return Action(spec.name, ERROR_OP, key, size, 0, {**params, "message": f"{where}{exc}"})
            if (dst_bucket, dst_key) == (spec.bucket, key):
                return Action(spec.name, "skip", key, size, 0, {**params, "reason": "destination is the source"})
            params["dest_bucket"], params["dest_key"] = dst_bucket, dst_key
        elif name == "delete" and soft is not None:
            if soft.trash_prefix is not None:
                if key.startswith(soft.trash_prefix):
                    return Action(spec.name, "skip", key, size, 0, {**params, "reason": "already in the trash"})
                params["soft"], params["dest_key"] = "trash", soft_delete.planned_trash_key(soft.trash_prefix, key)
            else:
                params["soft"], params["days"] = "expire", soft.delete_after_days
        return None

    @staticmethod
    def _decide(spec: BatchJob, ctx: JobContext[BatchJob], items: Sequence[Action[BatchActionOp] | _Pending],
                phase: int, count: list[int]) -> Iterator[Action[BatchActionOp]]:
        """Plan a chunk of candidates, skipping those already as the job wants them (the rules
        are in :mod:`kodo_jobs.jobs.batch_state`); one stat batch per chunk when they need it.
        Actions decided earlier (errors, skips) pass through in their place."""
        name, op_spec = spec.op.name, spec.op
        soft_days = spec.soft_delete.delete_after_days if spec.soft_delete is not None else None
        chunk = [c for c in items if not isinstance(c, Action)]
        wanted = [(spec.bucket, key) for key, _s, p, entry in chunk
                  if converge.needs_stat(op_spec, p.get("soft"), entry is not None)]
        forced_copy = name == "copy" and (op_spec.forced or spec.force)
        if forced_copy:  # the destination, and a given key's source, for their hashes
            wanted += [(p["dest_bucket"], p["dest_key"]) for _k, _s, p, _e in chunk]
            wanted += [(spec.bucket, key) for key, _s, _p, entry in chunk if entry is None]
        stats = _stat_many(ctx, wanted) if wanted else {}
        fp = converge.fingerprint(op_spec, soft_days)
        for item in items:
            if isinstance(item, Action):
                yield item
                continue
            key, size, params, entry = item
            current: Current | None = stats.get((spec.bucket, key))
            if current is None and entry is not None:
                current = converge.from_listing(entry)
            reason: str | None = None
            if forced_copy:
                dest = stats.get((params["dest_bucket"], params["dest_key"]))
                if converge.same_content(dest, current):
                    reason = "the destination already has the same content"
            elif current is not None and name in converge.OBSERVED:
                reason = converge.already(op_spec, current)
            elif current is not None and converge.is_recorded(name, params.get("soft")):
                ver = converge.version(current)
                if converge.applied(ctx, spec.name, key, fp, ver):
                    reason = "applied to this version by an earlier run"
                else:
                    params["fp"], params["version"] = fp, ver
            if reason is not None:
                yield Action(spec.name, "skip", key, size, 0, {**params, "reason": reason})
                continue
            count[0] += 1
            yield Action(spec.name, name, key, size, phase, params)

    def run(self, actions: Sequence[Action], ctx: JobContext[BatchJob]) -> list[Outcome]:
        """Send the actions as batch requests of at most ``spec.batch_size`` ops."""
        spec = ctx.spec
        size = max(1, min(spec.batch_size, MAX_BATCH))
        attempts = max_attempts(spec)
        job_op = _JobOp.of(spec, ctx.run_id)
        outcomes: list[Outcome] = []
        for start in range(0, len(actions), size):
            chunk = actions[start:start + size]
            results = ctx.client.rs.batch([job_op.build(a) for a in chunk])
            for action, res in zip(chunk, results, strict=True):
                outcome = _outcome(action, res, run_id=ctx.run_id, attempts=attempts)
                if outcome.status == "done" and "fp" in action.params:
                    converge.remember(ctx, spec.name, action.key, action.params["fp"], action.params["version"])
                outcomes.append(outcome)
        return outcomes


@dataclass(frozen=True, slots=True)
class _JobOp:
    """What every op of one job shares, read from the spec once per call (why: ``spec.op.params``
    and ``spec.op.name`` are computed pydantic properties that cost more than building an op)."""

    bucket: str
    op: OpSpec
    force: bool
    run_id: str

    @classmethod
    def of(cls, spec: BatchJob, run_id: str) -> _JobOp:
        return cls(spec.bucket, spec.op, spec.op.forced or spec.force, run_id)

    def build(self, action: Action) -> BatchOp:
        """The rs command of one planned action (``run_id`` fills a soft delete's trash key)."""
        bucket, key, p, name = self.bucket, action.key, action.params, action.op
        if name == "delete":
            soft = p.get("soft")
            if soft is None:
                return ops.delete(bucket, key)
            if soft == "trash":
                return ops.move(bucket, key, bucket, soft_delete.resolve(p["dest_key"], self.run_id), force=True)
            return ops.delete_after_days(bucket, key, int(p["days"]))
        op, force = self.op, self.force
        if name == "move":
            return ops.move(bucket, key, p["dest_bucket"], p["dest_key"], force=force)
        if name == "copy":
            return ops.copy(bucket, key, p["dest_bucket"], p["dest_key"], force=force)
        if name == "rename":
            return ops.rename(bucket, key, p["dest_key"], force=force)
        if name == "chtype" and op.chtype is not None:
            return ops.chtype(bucket, key, op.chtype.type)
        if name == "chgm" and op.chgm is not None:
            return ops.chgm(bucket, key, op.chgm.mime, metadata=op.chgm.metadata or None)
        if name == "deleteAfterDays" and op.expire is not None:
            return ops.delete_after_days(bucket, key, op.expire.days)
        if name == "chstatus" and op.chstatus is not None:
            return ops.chstatus(bucket, key, op.chstatus.status)
        if name == "restoreAr" and op.restore_ar is not None:
            return ops.restore_ar(bucket, key, op.restore_ar.days)
        if name == "lifecycle" and op.lifecycle is not None:
            rules = op.lifecycle
            return ops.lifecycle(bucket, key, to_ia_after_days=rules.to_ia_after_days,
                                 to_archive_ir_after_days=rules.to_archive_ir_after_days,
                                 to_archive_after_days=rules.to_archive_after_days,
                                 to_deep_archive_after_days=rules.to_deep_archive_after_days,
                                 delete_after_days=rules.delete_after_days)
        if name == "stat":
            return ops.stat(bucket, key)
        raise ValueError(f"unknown batch op {name!r}")


def build_op(spec: BatchJob, action: Action, run_id: str = "") -> BatchOp:
    """The rs command of one planned action (``run_id`` fills a soft delete's trash key)."""
    return _JobOp.of(spec, run_id).build(action)


def _outcome(action: Action, res: BatchResult, *, run_id: str, attempts: int) -> Outcome:
    """One op's result as an Outcome (see the module docstring for the rules). Attempts are
    counted only for failures: a success is never tried again, so its count is never read."""
    if res.code == 200:
        result: dict[str, object] = {}
        if action.op == "stat" and res.data:
            result = {k: res.data[k] for k in ("fsize", "hash", "mimeType", "putTime", "type", "md5")
                      if k in res.data}
        elif "dest_key" in action.params:
            result = {"dest": f"{action.params.get('dest_bucket', '')}:{action.params['dest_key']}".lstrip(":")}
        return Outcome(action.id, "done", reqid=res.reqid, result=result)
    if action.op == "delete" and res.code == 612 and not action.params.get("soft"):
        return Outcome(action.id, "skipped", code=612, reqid=res.reqid, message="already deleted")
    exc = res.exception
    assert exc is not None
    attempt = _TRIES.next(run_id, action.id)
    return outcome_for_error(action, exc, attempt=attempt, attempts=attempts)


KIND: JobKind[BatchJob] = BatchKind()
