"""The contract between the engine and a job kind.

A kind is a small object registered in :data:`kodo_jobs.jobs.KINDS` under its ``kind`` name.
``plan(spec, ctx)`` is read-only and *streams* actions (it may read and write the hash cache
through ``ctx.state``); ``run(actions, ctx)`` carries out up to ``batch_size`` actions and
returns one :class:`Outcome` per action, in any order.

Errors: ``run`` may raise a :class:`kodo_jobs.kodo.errors.KodoError` that applies to every
action of the call; the executor then retries the whole call by the error's class
(``RetryableError``: backoff; ``Throttled``: longer backoff, ``retry_after`` honoured;
``UploadRestartRequired``: the executor drops the saved upload session of each action and
retries once; ``PermanentError``: every action fails with the error's code and reqid;
``RunFatalError``: the whole run stops). A per-action problem is an Outcome instead:
``failed`` is final, ``pending`` asks for another attempt (with backoff), or leaves the action
for the next run when ``ctx.stop_requested()`` is true.

Chunked uploads: keep the client's serialised upload state with ``ctx.state.save_upload(
action.id, json)`` after every finished part (it is durable when the call returns), load it
with ``load_upload`` on the next attempt or run, and ``drop_upload`` once the object is
complete (or when the file changed and the upload restarts). Between parts, check
``ctx.stop_requested()`` (pass it as the client's ``upload_file(should_stop=...)``, which raises
``UploadPaused``) and return ``pending`` when it is set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeAlias, TypeGuard, TypeVar

from kodo_jobs.actions import Action, Outcome

if TYPE_CHECKING:  # annotations only: a kind module imports neither the client nor pydantic
    from kodo_jobs.kodo.client import KodoClient
    from kodo_jobs.log import Logger
    from kodo_jobs.manifest.spec_common import JobBase

__all__ = ["Action", "AnyContext", "Events", "JobContext", "JobKind", "NullEvents", "Outcome", "SpecT", "StateView",
           "context_for"]

SpecT = TypeVar("SpecT", bound="JobBase")
"""A job kind's own spec model (``SyncJob``, ``BatchJob``, ...)."""
SpecT_co = TypeVar("SpecT_co", bound="JobBase", covariant=True)
SpecT_contra = TypeVar("SpecT_contra", bound="JobBase", contravariant=True)


class StateView(Protocol):
    """The slice of the checkpoint that kinds see: the hash cache and upload sessions.

    Thread-safe: workers call it concurrently. Holds no secrets.
    """

    def etag_for(self, path: str, size: int, mtime_ns: int) -> str | None:
        """The cached etag of ``path`` if its size and mtime_ns still match, else None."""
        ...

    def remember_etag(self, path: str, size: int, mtime_ns: int, etag: str) -> None:
        """Cache the etag of ``path`` at this (size, mtime_ns)."""
        ...

    def load_upload(self, action_id: str) -> str | None:
        """The saved upload-session JSON of this action, if an earlier attempt left one."""
        ...

    def save_upload(self, action_id: str, state_json: str) -> None:
        """Durably store this action's upload-session JSON (before the part is counted)."""
        ...

    def drop_upload(self, action_id: str) -> None:
        """Forget this action's upload session (completed, aborted or restarting)."""
        ...

    def get_value(self, key: str) -> str | None:
        """A small value a kind stored with :meth:`set_value` in an earlier run (None if none)."""
        ...

    def set_value(self, key: str, value: str | None) -> None:
        """Durably remember (None: forget) a small JSON/text value across runs, e.g. pfop ids."""
        ...

    def prune_hash_cache(self, under: str, walked: Iterable[str], walked_count: int,
                         covers: Callable[[str], bool] | None = None) -> int:
        """After a full walk of ``under``: forget cached etags of files the walk did not see
        (and would have, by ``covers``); returns how many. A plan's read-only view prunes nothing."""
        ...


class Events(Protocol):
    """Progress subscriber the kinds report to (rich progress, logs and report listen)."""

    def progress(self, nbytes: int) -> None:
        """``nbytes`` more bytes were sent (or hashed while planning)."""
        ...

    def file_started(self, action: Action) -> None:
        """Work on ``action`` started (used for the "files" counter and current file)."""
        ...

    def file_finished(self, action: Action) -> None:
        """Work on ``action`` ended (whatever the outcome)."""
        ...

    def retrying(self, action: Action, attempt: int, wait: float, error: str) -> None:
        """A request of ``action`` (e.g. one part of an upload) is retried after ``wait`` seconds."""
        ...


class NullEvents:
    """Events that go nowhere (plan command, tests)."""

    def progress(self, nbytes: int) -> None:
        """Ignore."""

    def file_started(self, action: Action) -> None:
        """Ignore."""

    def file_finished(self, action: Action) -> None:
        """Ignore."""

    def retrying(self, action: Action, attempt: int, wait: float, error: str) -> None:
        """Ignore."""


def _never() -> bool:
    return False


@dataclass(frozen=True)
class JobContext(Generic[SpecT_co]):
    """Everything a kind may use while planning or running one job.

    ``spec`` is the job's validated manifest model, typed by its kind (``JobContext[SyncJob]``);
    the context is frozen, so a ``JobContext[SyncJob]`` is also a ``JobContext[JobBase]`` for
    the helpers every kind shares. ``log`` is a logger bound to the job (None: do not log);
    ``manifest_dir`` the folder relative paths started from; ``run_id`` identifies this run in
    the checkpoint (empty while only planning).
    """

    client: KodoClient
    spec: SpecT_co
    state: StateView
    events: Events = field(default_factory=NullEvents)
    dry_run: bool = False
    stop_requested: Callable[[], bool] = _never
    log: Logger | None = None
    manifest_dir: Path = Path(".")
    run_id: str = ""


AnyContext: TypeAlias = "JobContext[JobBase]"
"""The context of a job whose kind its holder does not know (the pipeline's view)."""


def _is_context_of(ctx: JobContext[JobBase], model: type[SpecT]) -> TypeGuard[JobContext[SpecT]]:
    return isinstance(ctx.spec, model)


def context_for(ctx: JobContext[JobBase], model: type[SpecT]) -> JobContext[SpecT]:
    """``ctx`` as the context of a ``model`` job: the one place the union of specs the pipeline
    holds meets a kind's own spec type (``TypeError`` when the spec is another kind's)."""
    if _is_context_of(ctx, model):
        return ctx
    raise TypeError(f"a {model.__name__} job cannot run with a {type(ctx.spec).__name__} spec")


class JobKind(Protocol[SpecT_contra]):
    """A job kind: turns its spec plus remote state into actions, and runs them.

    Generic over the kind's own spec model: ``SyncKind`` is a ``JobKind[SyncJob]``, and mypy
    checks each kind module's ``KIND: JobKind[...]`` against it. The registry
    (:data:`kodo_jobs.jobs.KINDS`) binds a kind to its model for callers that hold any spec.
    """

    kind: str
    batch_size: int
    """1: ``run`` gets one action per call; >1: up to this many at once (e.g. rs batch).

    Optional class attributes the engine also reads: ``phase_batch_sizes = {1: 1000}`` (a
    per-phase batch size) and ``max_concurrency = 1`` (cap the job's worker count, for kinds
    whose calls must not overlap)."""

    def plan(self, spec: SpecT_contra, ctx: JobContext[SpecT_contra]) -> Iterator[Action]:
        """Yield this job's actions in a stable order; read-only (except the hash cache)."""
        ...

    def run(self, actions: Sequence[Action], ctx: JobContext[SpecT_contra]) -> list[Outcome]:
        """Carry out ``actions`` (never ``same``/``skip``/``error`` ones); one Outcome each."""
        ...
