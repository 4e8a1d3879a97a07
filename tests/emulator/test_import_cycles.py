"""The emulator's modules import each other in one direction only, checked on the source with ``ast``.

Why: a cycle (``callbacks`` <-> ``services`` once) makes the import order decide which names
exist, and hides which module owns a concept. Every import counts: module level, inside
functions and under ``TYPE_CHECKING``, so a cycle cannot be parked in a lazy import.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent.parent / "kodo_jobs"


def _module_name(root: Path, package: str, path: Path) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """Every dotted name an import node may refer to (``from a import b`` -> ``a`` and ``a.b``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        return [base, *(f"{base}.{a.name}" for a in node.names)]
    return []


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package (``package``, in directory ``root``) it imports."""
    files = {_module_name(root, package, p): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        deps = {
            name
            for node in ast.walk(tree)
            for name in _imported(node, module, is_package)
            if name in files and name != module
        }
        # a module imports its parent packages implicitly; that is not a cycle of ours
        graph[module] = {d for d in deps if not module.startswith(d + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (first module repeated at the end), or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_the_emulator_package_has_no_import_cycle() -> None:
    graph = import_graph(PKG / "emulator", "kodo_jobs.emulator")
    assert "kodo_jobs.emulator.services" in graph  # the walk really saw the package
    assert "kodo_jobs.emulator.callbacks" in graph["kodo_jobs.emulator.services"]
    assert find_cycle(graph) is None


@pytest.mark.parametrize(
    ("a_source", "b_source"),
    [
        ("from pkg import b\n", "from pkg import a\n"),
        ("import pkg.b\n", "def f():\n    from pkg.a import x\n"),
        ("from . import b\n", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import x\n"),
    ],
)
def test_the_check_finds_a_cycle(tmp_path: Path, a_source: str, b_source: str) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(a_source)
    (pkg / "b.py").write_text(b_source)
    (pkg / "c.py").write_text("from pkg import a\n")  # imports into a cycle, not part of it
    cycle = find_cycle(import_graph(pkg, "pkg"))
    assert cycle is not None
    assert set(cycle) == {"pkg.a", "pkg.b"}
