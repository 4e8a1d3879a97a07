"""Job kinds: spec + remote state -> actions; actions -> outcomes.

``KINDS`` maps a manifest ``kind`` to its kind, bound to the kind's spec model
(:class:`BoundKind`): ``KINDS[spec.kind].plan(spec, ctx)`` takes any job spec, checks that it is
the kind's own model, and calls the kind's typed ``plan``. Kind modules are imported lazily on
first lookup (``kodo-jobs --help`` stays fast); a kind whose module is missing or broken raises
its own ImportError/AttributeError (an internal error, exit 1). Each kind module exposes a
module-level ``KIND: JobKind[ItsSpec]``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.jobs.base import JobContext, JobKind, SpecT, context_for

if TYPE_CHECKING:
    from kodo_jobs.manifest.spec_common import JobBase

_MODULES: dict[str, str] = {
    "sync": "kodo_jobs.jobs.sync.kind",
    "batch": "kodo_jobs.jobs.batch",
    "fetch": "kodo_jobs.jobs.fetch",
    "pfop": "kodo_jobs.jobs.pfop",
    "cdn": "kodo_jobs.jobs.cdn",
}


class AnyKind(Protocol):
    """A kind as the pipeline sees it: any job spec in, checked against the kind's own model."""

    @property
    def kind(self) -> str:
        """The manifest ``kind`` name."""
        ...

    @property
    def batch_size(self) -> int:
        """Actions per ``run`` call (1: one at a time)."""
        ...

    @property
    def max_concurrency(self) -> int | None:
        """A cap on the job's workers (None: no cap)."""
        ...

    @property
    def phase_batch_sizes(self) -> Mapping[int, int]:
        """Per-phase batch sizes (e.g. sync deletes: 1000 to an rs batch)."""
        ...

    def plan(self, spec: JobBase, ctx: JobContext[JobBase]) -> Iterator[Action]:
        """The kind's plan of ``spec`` (``TypeError`` if ``spec`` is another kind's)."""
        ...

    def run(self, actions: Sequence[Action], ctx: JobContext[JobBase]) -> list[Outcome]:
        """The kind's run of ``actions`` for the job of ``ctx``."""
        ...


@dataclass(frozen=True, slots=True)
class BoundKind(Generic[SpecT]):
    """A kind and the spec model it takes: the one typed seam between the union of specs the
    pipeline holds and each kind's own ``JobKind[SpecT]``. The optional class attributes a kind
    may declare (``max_concurrency``, ``phase_batch_sizes``) are read here, once."""

    impl: JobKind[SpecT]
    model: type[SpecT]

    @property
    def kind(self) -> str:
        return self.impl.kind

    @property
    def batch_size(self) -> int:
        return self.impl.batch_size

    @property
    def max_concurrency(self) -> int | None:
        cap: int | None = getattr(self.impl, "max_concurrency", None)
        return cap

    @property
    def phase_batch_sizes(self) -> Mapping[int, int]:
        sizes: Mapping[int, int] = getattr(self.impl, "phase_batch_sizes", None) or {}
        return sizes

    def plan(self, spec: JobBase, ctx: JobContext[JobBase]) -> Iterator[Action]:
        if not isinstance(spec, self.model):
            raise TypeError(f"a {self.kind} job cannot plan a {type(spec).__name__} spec")
        return self.impl.plan(spec, context_for(ctx, self.model))

    def run(self, actions: Sequence[Action], ctx: JobContext[JobBase]) -> list[Outcome]:
        return self.impl.run(actions, context_for(ctx, self.model))


class _Registry(Mapping[str, AnyKind]):
    """A read-only mapping that imports ``kodo_jobs.jobs.<kind>`` on first use."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = dict(modules)
        self._loaded: dict[str, AnyKind] = {}

    def __getitem__(self, kind: str) -> AnyKind:
        if kind in self._loaded:
            return self._loaded[kind]
        if kind not in self._modules:
            raise KeyError(kind)
        # a kind that fails to import is a broken install or a bug: its own error says which,
        # never a usage error (the manifest named a valid kind)
        module = importlib.import_module(self._modules[kind])
        from kodo_jobs.manifest.models import KIND_MODELS  # loaded already: a spec exists

        # mypy checks each module's ``KIND: JobKind[ItsSpec]`` there; here the module is only
        # known at run time, and BoundKind checks every spec against the kind's model instead
        obj: AnyKind = BoundKind(module.KIND, KIND_MODELS[kind])
        self._loaded[kind] = obj
        return obj

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def register(self, kind: str, obj: AnyKind) -> None:
        """Add or replace a kind (tests register fakes this way)."""
        self._modules.setdefault(kind, "")
        self._loaded[kind] = obj

    def unregister(self, kind: str) -> None:
        """Remove a kind added with :meth:`register` (tests)."""
        self._loaded.pop(kind, None)
        if not self._modules.get(kind):
            self._modules.pop(kind, None)


KINDS = _Registry(_MODULES)
