"""``kodo-jobs validate MANIFEST...``: check manifests without touching any storage.

Prints one ``<file>: ok (...)`` line per valid manifest on stdout. Every problem of every
invalid manifest is collected into one ``ManifestError`` (exit 2), which the error boundary
prints as ``file:line:col: path: message`` lines. A folder stands for the ``*.yaml`` and
``*.yml`` files directly inside it. Besides the manifest itself, the local inputs of its
enabled jobs are checked (upload ``source`` folders, ``keys_file``, ``urls_file``); see
:func:`kodo_jobs.pipeline.load.validate_manifests`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kodo_jobs.pipeline.load import validate_manifests

if TYPE_CHECKING:
    from kodo_jobs.pipeline.load import Manifest


def _summary(manifest: Manifest) -> str:
    jobs = manifest.jobs
    names = ", ".join(f"{job.name} ({job.kind})" for job in jobs[:5]) + (", ..." if len(jobs) > 5 else "")
    return f"ok ({len(jobs)} job{'s' if len(jobs) != 1 else ''}: {names})"


def validate(paths: list[Path]) -> int:
    """Validate each manifest; return 0 when all are valid, raise ``ManifestError`` otherwise."""
    try:
        for path, manifest in validate_manifests(paths):
            sys.stdout.write(f"{path}: {_summary(manifest)}\n")
    finally:
        sys.stdout.flush()
    return 0
