"""The layer boundaries of DESIGN.md section 2, checked on the source with ``ast``.

* ``kodo/`` imports nothing from ``kodo_jobs`` outside ``kodo/``;
* ``emulator/`` imports nothing from ``kodo/`` (a bug shared by signer and verifier would pass
  silently) nor from the job runner;
* ``executor/`` knows actions, not job kinds or manifests;
* ``jobs/`` never builds an HTTP request by hand (no ``requests``/``urllib3``/``http.client``);
* ``manifest/`` does not talk to Kodo (it may read the region table, pure data with no imports,
  so that a region id is checked at validate time against the very table the client uses).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "kodo_jobs"

RULES: dict[str, tuple[str, ...]] = {
    "kodo": ("kodo_jobs.",),  # anything but kodo_jobs.kodo (checked below)
    "emulator": ("kodo_jobs.kodo", "kodo_jobs.jobs", "kodo_jobs.executor", "kodo_jobs.manifest", "kodo_jobs.actions", "kodo_jobs.pipeline"),
    "executor": ("kodo_jobs.jobs", "kodo_jobs.manifest"),
    "jobs": ("requests", "urllib3", "http.client", "kodo_jobs.emulator"),
    "manifest": ("kodo_jobs.kodo", "kodo_jobs.jobs", "kodo_jobs.executor", "kodo_jobs.emulator", "requests"),
}

ALLOWED: dict[str, frozenset[str]] = {"manifest": frozenset({"kodo_jobs.kodo.regions"})}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # resolve relative imports against the module's package
                rel = path.relative_to(PKG.parent).with_suffix("").parts[: -node.level]
                base = ".".join(rel)
                names.append(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.append(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(RULES))
def test_layer_imports(layer: str) -> None:
    root = PKG / layer
    assert root.is_dir(), f"{layer}/ is missing: a renamed layer must be renamed in RULES too"
    bad: list[str] = []
    for path in sorted(root.rglob("*.py")):
        for name in _imports(path):
            for forbidden in RULES[layer]:
                if layer == "kodo" and name.startswith("kodo_jobs.kodo"):
                    continue
                if name in ALLOWED.get(layer, ()):
                    continue
                if name == forbidden.rstrip(".") or name.startswith(forbidden if forbidden.endswith(".") else forbidden + ".") or name == forbidden:
                    bad.append(f"{path.relative_to(PKG.parent)} imports {name}")
    assert not bad, "layer boundary broken:\n" + "\n".join(bad)
