"""Job kinds: spec + remote state -> actions; actions -> outcomes.

``KINDS`` maps a manifest ``kind`` to its :class:`kodo_jobs.jobs.base.JobKind`. Kind modules
are imported lazily on first lookup (``kodo-jobs --help`` stays fast); a kind whose module is
missing or broken raises its own ImportError/AttributeError (an internal error, exit 1).
Each kind module exposes a module-level ``KIND`` object.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from kodo_jobs.jobs.base import JobKind

_MODULES: dict[str, str] = {
    "sync": "kodo_jobs.jobs.sync.kind",
    "batch": "kodo_jobs.jobs.batch",
    "fetch": "kodo_jobs.jobs.fetch",
    "pfop": "kodo_jobs.jobs.pfop",
    "cdn": "kodo_jobs.jobs.cdn",
}


class _Registry(Mapping[str, JobKind]):
    """A read-only mapping that imports ``kodo_jobs.jobs.<kind>`` on first use."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = dict(modules)
        self._loaded: dict[str, JobKind] = {}

    def __getitem__(self, kind: str) -> JobKind:
        if kind in self._loaded:
            return self._loaded[kind]
        if kind not in self._modules:
            raise KeyError(kind)
        # a kind that fails to import is a broken install or a bug: its own error says which,
        # never a usage error (the manifest named a valid kind)
        module = importlib.import_module(self._modules[kind])
        obj: JobKind = module.KIND
        self._loaded[kind] = obj
        return obj

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def register(self, kind: str, obj: JobKind) -> None:
        """Add or replace a kind (tests register fakes this way)."""
        self._modules.setdefault(kind, "")
        self._loaded[kind] = obj

    def unregister(self, kind: str) -> None:
        """Remove a kind added with :meth:`register` (tests)."""
        self._loaded.pop(kind, None)
        if not self._modules.get(kind):
            self._modules.pop(kind, None)


KINDS = _Registry(_MODULES)
