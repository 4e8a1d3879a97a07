"""The manifest as validated, immutable values: ``Manifest`` with a ``Target`` and job specs.

``JobSpec`` is one discriminated union on ``kind`` (sync, batch, fetch, pfop, cdn). The
``defaults:`` section is validated as a ``Defaults`` model (every job field except name, kind
and needs, all optional) and merged into each job by the loader, so a job spec never consults
globals. ``needs`` must name existing jobs and form no cycle; :meth:`Manifest.jobs_in_order`
gives the jobs topologically sorted (stable: manifest order among independent jobs).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    create_model,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from kodo_jobs.manifest.base import Model
from kodo_jobs.manifest.notify import Notify
from kodo_jobs.manifest.spec_batch import BatchJob
from kodo_jobs.manifest.spec_cdn import CdnJob
from kodo_jobs.manifest.spec_common import JobBase
from kodo_jobs.manifest.spec_fetch import FetchJob
from kodo_jobs.manifest.spec_pfop import PfopJob
from kodo_jobs.manifest.spec_sync import SyncJob
from kodo_jobs.manifest.suggest import did_you_mean
from kodo_jobs.manifest.target import Target

AnyJob = SyncJob | BatchJob | FetchJob | PfopJob | CdnJob
"""One of the job specs (for annotations); ``spec.kind`` says which."""

JobSpec = Annotated[AnyJob, Field(discriminator="kind")]
"""One of the job specs, discriminated on ``kind`` (for validation)."""

KIND_MODELS: dict[str, type[JobBase]] = {
    "sync": SyncJob, "batch": BatchJob, "fetch": FetchJob, "pfop": PfopJob, "cdn": CdnJob,
}
"""Job model per ``kind``, in the order the docs present them."""

NOT_DEFAULTABLE = frozenset({"name", "kind", "needs"})
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _check_env_name(value: str) -> str:
    if not re.match(ENV_NAME_PATTERN, value):
        raise ValueError(f"must be a variable name (letters, digits and '_', not starting with a digit) (got {value!r})")
    return value


class EnvVar(Model):
    """A variable the manifest may expand (``${NAME}``); a bare name is short for ``{name: NAME}``."""

    name: Annotated[str, AfterValidator(_check_env_name), Field(json_schema_extra={"pattern": ENV_NAME_PATTERN})]
    """The environment variable's name."""
    secret: bool = False
    """true = may only fill access_key, secret_key or anti_leech_key, and is masked in every output."""
    default: str | None = None
    """Value used when the variable is not set (taken literally: no ${...} inside)."""


def _env_entry(value: object) -> object:
    """``- NAME`` is short for ``- {name: NAME}``."""
    return {"name": value} if isinstance(value, str) else value


def kinds_with_field(field: str) -> list[str]:
    """The kinds whose spec has ``field`` (where a ``defaults:`` entry is merged)."""
    return [kind for kind, model in KIND_MODELS.items() if field in model.model_fields]


def _build_defaults_model() -> type[BaseModel]:
    """``Defaults``: every job field except name/kind/needs, optional, typed like the job field."""
    fields: dict[str, Any] = {}
    for model in KIND_MODELS.values():
        for name, info in model.model_fields.items():
            if name in NOT_DEFAULTABLE or name in fields:
                continue
            kinds = ", ".join(kinds_with_field(name))
            doc = (info.description or "").rstrip(".")
            typed: Any = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
            fields[name] = (
                typed | None,
                Field(None, description=f"{doc} (default for: {kinds})." if doc else f"Default for: {kinds}."),
            )
    return create_model(
        "Defaults", __base__=Model, __doc__="Values merged into every job whose kind has the field; the job's own value wins.",
        **fields,
    )


if TYPE_CHECKING:
    Defaults = BaseModel
else:
    Defaults = _build_defaults_model()


def graph_problems(jobs: Sequence[tuple[str, Sequence[str]]]) -> list[tuple[int, int | None, str]]:
    """Check job names and ``needs``: duplicates, unknown names, self-needs and cycles.

    ``jobs`` is ``(name, needs)`` per job in manifest order. Returns ``(job index, needs index or
    None, message)`` per problem, so the loader can point at the offending line.
    """
    problems: list[tuple[int, int | None, str]] = []
    first: dict[str, int] = {}
    for i, (name, _) in enumerate(jobs):
        if name in first:
            problems.append((i, None, f"duplicate job name {name!r} (first used by jobs[{first[name]}])"))
        else:
            first[name] = i
    for i, (name, needs) in enumerate(jobs):
        for j, need in enumerate(needs):
            if need == name:
                problems.append((i, j, f"job {name!r} needs itself"))
            elif need not in first:
                hint = did_you_mean(need, list(first))
                problems.append((i, j, f"unknown job {need!r}{hint}"))
    if problems:
        return problems
    cycle = _find_cycle({name: list(needs) for name, needs in jobs})
    if cycle:
        i = first[cycle[0]]
        problems.append((i, None, "needs form a cycle: " + " -> ".join([*cycle, cycle[0]])))
    return problems


def _find_cycle(edges: dict[str, list[str]]) -> list[str]:
    """One cycle of the needs graph (empty if it is a DAG); iterative DFS, so deep chains are fine."""
    state: dict[str, int] = {}
    for root in edges:
        if state.get(root):
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        state[root] = 1
        while stack:
            node, idx = stack[-1]
            needs = edges.get(node, [])
            if idx < len(needs):
                stack[-1] = (node, idx + 1)
                nxt = needs[idx]
                if state.get(nxt) == 1:
                    return path[path.index(nxt):]
                if not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                state[node] = 2
                stack.pop()
                path.pop()
    return []


class Manifest(Model):
    """A validated manifest: where to run (``target``) and what (``jobs``)."""

    model_config = ConfigDict(
        title="kodo-jobs manifest",
        json_schema_extra={"patternProperties": {"^x-": {"description": "Ignored: a home for YAML anchors."}}},
    )

    version: Literal[1]
    """Manifest format version (1)."""
    env: tuple[Annotated[EnvVar, BeforeValidator(_env_entry)], ...] = ()
    """Environment variables the manifest may expand; every other ``${VAR}`` is an error (except in
    target.access_key/secret_key)."""
    target: Target
    """Where and as whom the jobs run."""
    defaults: Defaults = Field(default_factory=lambda: Defaults())
    """Fields merged into every job that has them (already applied to ``jobs`` at load)."""
    jobs: Annotated[tuple[JobSpec, ...], Field(min_length=1)]
    """The jobs; run order follows ``needs``, then manifest order."""
    notify: Notify | None = None
    """POST the run summary to a webhook on failure (or always)."""
    path: SkipJsonSchema[Path] = Field(default=Path("manifest.yaml"), exclude=True)
    """The manifest file (absolute; set by the loader, not written in YAML)."""
    base_dir: SkipJsonSchema[Path] = Field(default=Path("."), exclude=True)
    """The folder relative paths were resolved against (set by the loader)."""
    secrets: SkipJsonSchema[tuple[SecretStr, ...]] = Field(default=(), exclude=True)
    """Expanded values of ``secret: true`` variables, to be masked in every output (set by the loader)."""

    @model_validator(mode="after")
    def _graph(self) -> Self:
        problems = graph_problems([(job.name, job.needs) for job in self.jobs])
        if problems:
            raise ValueError("; ".join(f"jobs[{i}]: {msg}" for i, _, msg in problems))
        return self

    def job(self, name: str) -> AnyJob:
        """The job called ``name`` (``KeyError`` if there is none)."""
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(name)

    def jobs_in_order(self) -> list[AnyJob]:
        """Jobs sorted so each comes after everything it needs; otherwise in manifest order."""
        index = {job.name: i for i, job in enumerate(self.jobs)}
        waiting = [len(set(job.needs)) for job in self.jobs]
        dependants: dict[str, list[int]] = {}
        for i, job in enumerate(self.jobs):
            for need in set(job.needs):
                dependants.setdefault(need, []).append(i)
        ready = [i for i, count in enumerate(waiting) if count == 0]
        heapq.heapify(ready)
        ordered: list[AnyJob] = []
        while ready:
            i = heapq.heappop(ready)
            job = self.jobs[i]
            ordered.append(job)
            for d in dependants.get(job.name, []):
                waiting[d] -= 1
                if waiting[d] == 0:
                    heapq.heappush(ready, d)
        if len(ordered) != len(index):  # unreachable after validation
            raise ValueError("needs form a cycle")
        return ordered
