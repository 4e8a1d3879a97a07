"""``run --plan FILE``: check that every saved action still rests on the facts it was planned from.

``plan -o FILE`` records, per action, the facts its verdict relied on (the params a sync puts
into each action): for an upload sync the local file's ``size``/``mtime_ns`` and the remote
object's hash (``remote_hash`` / ``hash``) or its absence; for a download sync the object's
``hash`` and the local file's ``local_size``/``local_mtime_ns`` or its absence. Before anything
is executed, :func:`verify` re-reads all of them (local ``stat``; remote ``stat`` in rs batches
of 1000) and raises :class:`StalePlan` naming the first action, in plan order, whose facts
changed: a touched file, a replaced or deleted object, an object that appeared where the plan
meant to create one. A stale plan therefore changes nothing.

Only actions that change something are checked (``same``/``skip``/``error`` are never run).
Kinds other than ``sync`` (batch, fetch, pfop, cdn) record no per-key facts yet; their saved
actions run as reviewed, guarded by the manifest fingerprint only.

The file itself is untrusted: before anything else :func:`check` reads every action and
refuses (exit 2, nothing run) a plan naming a job the manifest does not have (or with another
kind), an action of a job the header does not list, a malformed line, and - for sync jobs -
any action the job's planner could not have produced (:mod:`kodo_jobs.jobs.sync.trust`: wrong
op or phase, key outside the prefix, a path that is not the job's file; for the other kinds
:mod:`kodo_jobs.jobs.plan_trust`: the job's op, destinations, fops, URLs and output files). The actions then run
with their local paths rebuilt from the job's folder and the key (:func:`trusted_actions`),
never with the paths written in the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kodo_jobs.actions import Action
from kodo_jobs.errors import EXIT_INVALID, KodoJobsError
from kodo_jobs.pipeline.plan_render import ACTIONS_OPEN
from kodo_jobs.pipeline.shard import in_shard
from kodo_jobs.textsafe import escape_text

if TYPE_CHECKING:
    from kodo_jobs.kodo.client import KodoClient
    from kodo_jobs.kodo.hosts import ValueStore
    from kodo_jobs.manifest.models import AnyJob

CHUNK = 1000
"""Actions checked per rs batch (Kodo's batch limit)."""

_ABSENT = object()


FORMAT = 1
"""Version of the saved plan file (``format`` in its header); ``run --plan`` refuses newer ones."""


def header() -> dict[str, int | str]:
    """Header fields a saved plan adds to the ``plan --json`` document: format and creation time."""
    return {"format": FORMAT, "created": datetime.now(UTC).isoformat(timespec="seconds")}


APPLIED_PREFIX = "saved-plan-applied:"
"""State-file key (``kv`` table) under which a run records the saved plan it applied in full."""


def fingerprint(saved: SavedPlan) -> str:
    """SHA-256 of the plan file's bytes: the same reviewed plan, whatever its name."""
    import hashlib

    digest = hashlib.sha256()
    with saved.path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def applied_note(digest: str, state: ValueStore | None) -> str | None:
    """When ``state`` (a checkpoint, or None) records that the plan of this :func:`fingerprint`
    was applied in full:
    which run did it and when. Re-applying it would otherwise be refused as "stale": every object
    it uploaded now exists, which the plan's facts said it did not."""
    if state is None:
        return None
    value = state.get_value(APPLIED_PREFIX + digest)
    return None if value is None else str(value)


class StalePlan(KodoJobsError):
    """The saved plan no longer matches the source tree or the bucket; nothing was run (exit 2)."""

    exit_code = EXIT_INVALID


class UntrustedPlan(KodoJobsError):
    """The saved plan holds something its manifest could not have produced; nothing was run (exit 2)."""

    exit_code = EXIT_INVALID


def _refuse(saved: SavedPlan, what: str) -> UntrustedPlan:
    return UntrustedPlan(
        f"--plan {saved.path} was not produced from this manifest: {what}. Nothing was run; make a new "
        "plan with `kodo-jobs plan -o` and review it again")


def _actions(saved: SavedPlan, job: str | None) -> Iterator[Action]:
    try:
        yield from saved.actions(job)
    except ValueError as exc:
        raise _refuse(saved, str(exc)) from exc


def _trusted(saved: SavedPlan, spec: AnyJob, action: Action) -> Action:
    # the kinds' checks load with the first saved action: a run without --plan needs none of them
    from kodo_jobs.jobs import plan_trust
    from kodo_jobs.jobs.sync import trust as sync_trust

    try:
        if spec.kind == "sync":
            return sync_trust.trusted(spec, action)
        return plan_trust.trusted(spec, action)
    except sync_trust.Untrusted as exc:
        raise _refuse(saved, f"job {action.job}: {action.op} {escape_text(action.key)}: {exc}") from exc


def trusted_actions(saved: SavedPlan, spec: AnyJob) -> Iterator[Action]:
    """The saved actions of ``spec``'s job, each checked and with its local paths rebuilt."""
    for action in _actions(saved, str(spec.name)):
        yield _trusted(saved, spec, action)


def check(saved: SavedPlan, manifest_jobs: Mapping[str, AnyJob]) -> int:
    """Refuse (:class:`UntrustedPlan`) a plan the manifest could not have produced; returns the
    number of actions read. One streaming pass over the file, before anything is run."""
    listed: dict[str, str] = {}
    for entry in saved.head.get("jobs", []):
        name = entry.get("name") if isinstance(entry, dict) else None
        spec = manifest_jobs.get(name) if isinstance(name, str) else None
        if spec is None or not isinstance(name, str):
            raise _refuse(saved, f"it has a job {name!r} the manifest does not have")
        if entry.get("kind") != spec.kind:
            raise _refuse(saved, f"job {name} is of kind {entry.get('kind')!r} in the plan, {spec.kind!r} in the "
                                 "manifest")
        listed[name] = spec.kind
    count = 0
    for action in _actions(saved, None):
        if action.job not in listed:
            raise _refuse(saved, f"an action of job {action.job!r}, which the plan does not list")
        _trusted(saved, manifest_jobs[action.job], action)
        count += 1
    return count


def _chunks(actions: Iterable[Action], size: int) -> Iterator[list[Action]]:
    chunk: list[Action] = []
    for a in actions:
        chunk.append(a)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _local_problem(a: Action, direction: str) -> str | None:
    """Why the local facts of ``a`` no longer hold (None: they hold)."""
    p = a.params
    path = str(p.get("path", ""))
    if not path:
        return None
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        return f"cannot stat {path}: {exc.strerror or exc}"
    if direction == "upload":
        if a.op == "delete":
            return None if st is None else f"{path} exists again"
        if st is None:
            return f"{path} is gone"
        if st.st_size != a.size or ("mtime_ns" in p and st.st_mtime_ns != int(p["mtime_ns"])):
            return f"{path} changed (size/mtime)"
        return None
    if "local_size" in p:  # download update/delete: the local file must be as it was
        if st is None:
            return f"{path} is gone"
        if st.st_size != int(p["local_size"]) or st.st_mtime_ns != int(p.get("local_mtime_ns", -1)):
            return f"{path} changed (size/mtime)"
        return None
    return None if st is None else f"{path} appeared since the plan was made"


def _expected_remote(a: Action, direction: str) -> object:
    """The remote hash ``a`` relied on, ``_ABSENT`` for "no object", or None (nothing recorded)."""
    p = a.params
    if direction == "upload":
        if a.op == "upload":
            return _ABSENT
        if a.op == "update":
            return p.get("remote_hash")
        if a.op == "delete":
            return p.get("hash")
        return None
    if a.op in ("download", "update"):
        return p.get("hash")
    if a.op == "delete":
        return _ABSENT
    return None


def _remote_problems(client: KodoClient, bucket: str, chunk: Sequence[tuple[Action, object]]) -> dict[str, str]:
    """key -> why its remote fact changed, for the keys of ``chunk`` (one rs batch)."""
    from kodo_jobs.kodo.rs import ops

    results = client.rs.batch([ops.stat(bucket, a.key) for a, _ in chunk])
    problems: dict[str, str] = {}
    for (a, want), res in zip(chunk, results, strict=True):
        stat = res.stat
        if res.code == 612 or (not res.ok and stat is None and res.code in (404,)):
            have: object = _ABSENT
        elif stat is not None:
            have = stat.hash
        else:
            problems[a.key] = f"cannot stat it ({res.code} {res.message})"
            continue
        if want is _ABSENT and have is not _ABSENT:
            problems[a.key] = f"the object now exists (hash {have})"
        elif want is not _ABSENT and have is _ABSENT:
            problems[a.key] = "the object is gone"
        elif want is not _ABSENT and have != want:
            problems[a.key] = f"the object was replaced (hash {want} -> {have})"
    return problems


def verify(saved: SavedPlan, specs: Mapping[str, AnyJob], client: KodoClient, *, shard: tuple[int, int] | None = None) -> int:
    """Raise :class:`StalePlan` at the first stale action; returns how many actions were checked."""
    fmt = saved.head.get("format", FORMAT)
    if not isinstance(fmt, int) or fmt > FORMAT:
        raise StalePlan(f"--plan {saved.path} has format {fmt!r}, newer than this kodo-jobs understands ({FORMAT})")
    checked = 0
    for name in saved.jobs:
        spec = specs.get(name)
        if spec is None or spec.kind != "sync":
            continue
        direction = str(spec.direction)
        actions = (a for a in trusted_actions(saved, spec) if a.changes and (shard is None or in_shard(a.key, shard)))
        for chunk in _chunks(actions, CHUNK):
            remote = [(a, w) for a in chunk if (w := _expected_remote(a, direction)) is not None]
            remote_problems = _remote_problems(client, str(spec.bucket), remote) if remote else {}
            for a in chunk:
                checked += 1
                problem = _local_problem(a, direction) or remote_problems.get(a.key)
                if problem:
                    raise StalePlan(
                        f"--plan {saved.path} is stale: job {name}: {a.op} {escape_text(a.key)}: {problem} since the plan was "
                        "made. Nothing was run; make a new plan with `kodo-jobs plan -o` and review it again")
    return checked


__all__ = ["APPLIED_PREFIX", "StalePlan", "UntrustedPlan", "applied_note", "check", "fingerprint",
           "trusted_actions", "verify"]


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
    if not first.endswith(ACTIONS_OPEN):
        raise ValueError(f"{path} is not a plan written by `kodo-jobs plan -o`")
    head = json.loads(first[: -len(ACTIONS_OPEN)] + "}")
    if not isinstance(head, dict) or "jobs" not in head:
        raise ValueError(f"{path} is not a plan written by `kodo-jobs plan -o`")
    return SavedPlan(path, head)
