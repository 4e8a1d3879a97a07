"""The layers of kodo_jobs, checked on the source with ``ast`` (every import counts: top-level,
lazy ones inside functions, and ``TYPE_CHECKING`` ones).

Ranks, lowest first (:data:`RANKS`); a module imports only from its own package/module and from
lower ranks, never from a sibling of its own rank:

0. foundations - ``errors``, ``textsafe``, ``units``, ``naming``, ``actions``: values and pure
   helpers (stdlib only) that every layer shares.
1. ``kodo`` (the client) and ``emulator`` (the local server), each on its own. Being siblings,
   neither imports the other: the emulator verifies signatures with its own code, so a bug
   shared by signer and verifier cannot pass silently (both are checked against the official
   SDK instead). ``kodo`` is stricter still (:data:`STANDALONE`): it imports nothing of
   kodo_jobs outside ``kodo/``, not even a foundation, so it is usable without the rest.
2. ``log`` - the log configuration and secret redactor. It sits above ``kodo`` because it masks
   URL credentials with the client's own masker (``kodo.network.mask_url_credentials``), so the
   transport's error messages and the logs agree on what a credential is.
3. ``manifest`` and ``executor``, siblings: the manifest knows nothing of execution, and the
   executor knows actions, not job kinds or manifests.
4. ``jobs`` - the kinds: spec + remote state -> actions; actions -> outcomes.
5. ``pipeline`` - the run, step by step: load -> plan_job -> execute -> report.
6. ``watch`` (the resident watcher: batches of the pipeline's job loop) and ``error_handler``;
7. ``commands``; 8. ``cli``; 9. ``__main__``.

Why the manifest may import ``kodo``: a region id is checked at validate time against the very
table the client uses (``kodo/regions.py``), with no exceptions list. The rule that the
manifest "does not talk to Kodo" is what that import must not break, so it is checked as what
it means (:func:`test_manifest_cannot_reach_the_network`): nothing the manifest imports, directly
or through other kodo_jobs modules, imports an HTTP library. Moving the table into a foundation
module instead would have made ``kodo`` import from outside ``kodo/`` (or keep two tables).

Two more rules: ``jobs/`` never builds an HTTP request by hand (no ``requests``/``urllib3``/
``http.client``), and the commands reach the run's layers only through the pipeline: they
import none of ``kodo``, ``manifest``, ``executor``, ``jobs`` (:data:`THROUGH_PIPELINE`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "kodo_jobs"

RANKS: dict[str, int] = {
    "__init__": 0, "errors": 0, "textsafe": 0, "units": 0, "naming": 0, "actions": 0,
    "kodo": 1, "emulator": 1,
    "log": 2,
    "manifest": 3, "executor": 3,
    "jobs": 4,
    "pipeline": 5,
    "watch": 6, "error_handler": 6,
    "commands": 7,
    "cli": 8,
    "__main__": 9,
}
"""Layer (top-level module or package of kodo_jobs) -> rank; ``__init__`` is the package root."""

STANDALONE = frozenset({"kodo"})
"""Layers that import nothing of kodo_jobs outside themselves."""

THROUGH_PIPELINE = frozenset({"kodo", "manifest", "executor", "jobs"})
"""Layers the commands reach only through the pipeline."""

HTTP = ("requests", "urllib3", "http.client")
NO_HTTP = frozenset({"jobs", "manifest"})
"""Layers that import no HTTP library themselves."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, alias: str) -> str:
    """``from kodo_jobs import log`` imports the module ``kodo_jobs.log``; ``from kodo_jobs import
    __version__`` imports the package root."""
    candidate = f"{name}.{alias}"
    rel = Path(*candidate.split("."))
    if (PKG.parent / rel).is_dir() or (PKG.parent / rel).with_suffix(".py").is_file():
        return candidate
    return name


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, *, runtime_only: bool = False) -> Iterator[str]:
    """Every module ``path`` imports (``runtime_only``: without ``if TYPE_CHECKING:`` blocks)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and _is_type_checking(node):
                skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module.split(".")[0] == "kodo_jobs":
                yield from (_resolve(module, a.name) for a in node.names)
            else:
                yield module


def _layer(module: str) -> str | None:
    """The layer of a kodo_jobs module name (None: not kodo_jobs)."""
    parts = module.split(".")
    if parts[0] != "kodo_jobs":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _file_layer(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _files() -> list[Path]:
    return sorted(PKG.rglob("*.py"))


def violation(layer: str, imported: str) -> str | None:
    """Why ``layer`` may not import module ``imported`` (None: it may)."""
    target = _layer(imported)
    if layer in NO_HTTP and any(imported == h or imported.startswith(h + ".") for h in HTTP):
        return f"{layer}/ imports the HTTP library {imported}"
    if target is None or target == layer:
        return None
    if layer in STANDALONE:
        return f"{layer}/ imports nothing of kodo_jobs outside itself"
    if layer == "commands" and target in THROUGH_PIPELINE:
        return f"commands reach {target}/ only through the pipeline"
    if RANKS[target] >= RANKS[layer]:
        return f"{layer} (rank {RANKS[layer]}) may not import {target} (rank {RANKS[target]})"
    return None


def test_every_layer_has_a_rank() -> None:
    unranked = sorted({_file_layer(p) for p in _files()} - set(RANKS))
    assert not unranked, f"give these a rank in RANKS (and docs/architecture.md): {unranked}"


@pytest.mark.parametrize("layer", sorted(RANKS))
def test_layer_imports(layer: str) -> None:
    bad = [f"{path.relative_to(PKG.parent)} imports {name}: {why}"
           for path in _files() if _file_layer(path) == layer
           for name in _imports(path) if (why := violation(layer, name))]
    assert not bad, "layer boundary broken:\n" + "\n".join(bad)


@cache
def _runtime_graph() -> dict[str, tuple[str, ...]]:
    return {_module_name(p): tuple(_imports(p, runtime_only=True)) for p in _files()}


def _closure(start: str) -> set[str]:
    """Every module importing ``start`` can load (its parent packages' ``__init__`` included)."""
    graph = _runtime_graph()
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # parent packages run first
        todo.extend(graph.get(name, ()))
    return seen


def test_manifest_cannot_reach_the_network() -> None:
    reached = {m: sorted(n for n in _closure(m) if n.split(".")[0] in ("requests", "urllib3") or n == "http.client")
               for m in _runtime_graph() if _layer(m) == "manifest"}
    bad = {m: r for m, r in reached.items() if r}
    assert not bad, f"the manifest must not talk to Kodo, but these reach an HTTP library: {bad}"


def test_the_checks_can_fail() -> None:
    assert violation("manifest", "kodo_jobs.jobs.base")  # upward
    assert violation("manifest", "kodo_jobs.executor.checkpoint")  # sibling
    assert violation("emulator", "kodo_jobs.kodo.auth")  # sibling: no shared signing code
    assert violation("kodo", "kodo_jobs.errors")  # standalone
    assert violation("commands", "kodo_jobs.executor.lock")  # through the pipeline
    assert violation("jobs", "requests.adapters")  # no hand-built HTTP
    assert violation("pipeline", "kodo_jobs.commands.run")
    assert violation("pipeline", "kodo_jobs.jobs.base") is None
    assert "requests" in {n.split(".")[0] for n in _closure("kodo_jobs.kodo.client")}
