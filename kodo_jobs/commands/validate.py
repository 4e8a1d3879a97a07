"""``kodo-jobs validate MANIFEST...``: check manifests without touching any storage.

Prints one ``<file>: ok (...)`` line per valid manifest on stdout. Every problem of every
invalid manifest is collected into one :class:`ManifestError` (exit 2), which the error
boundary prints as ``file:line:col: path: message`` lines. A folder stands for the ``*.yaml``
and ``*.yml`` files directly inside it. Besides the manifest itself, the local inputs of its
enabled jobs are checked (upload ``source`` folders, ``keys_file``, ``urls_file``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from kodo_jobs.manifest import Manifest, ManifestError, Problem, load


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
            files.extend(found or [path])
        else:
            files.append(path)
    return files


def _summary(manifest: Manifest) -> str:
    jobs = manifest.jobs
    names = ", ".join(f"{job.name} ({job.kind})" for job in jobs[:5]) + (", ..." if len(jobs) > 5 else "")
    return f"ok ({len(jobs)} job{'s' if len(jobs) != 1 else ''}: {names})"


def validate(paths: list[Path]) -> int:
    """Validate each manifest; return 0 when all are valid, raise ``ManifestError`` otherwise."""
    problems: list[Problem] = []
    for path in _expand(paths):
        if path.is_dir():
            problems.append(Problem(str(path), 1, 1, "", "no *.yaml or *.yml manifests in this folder"))
            continue
        try:
            manifest = load(path, check_paths=True)  # local inputs too: see kodo_jobs.manifest.local_paths
        except ManifestError as exc:
            problems.extend(exc.problems)
            continue
        sys.stdout.write(f"{path}: {_summary(manifest)}\n")
    sys.stdout.flush()
    if problems:
        raise ManifestError(problems)
    return 0
