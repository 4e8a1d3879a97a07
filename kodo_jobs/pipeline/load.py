"""Step 1 of the pipeline: the manifest loaded and checked, its jobs chosen, its state file named.

``plan``, ``run``, ``status`` and ``watch`` all start here.
"""

from __future__ import annotations

import hashlib
import importlib
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kodo_jobs.errors import UsageError
from kodo_jobs.log import register_secret

STATE_SUFFIX = ".kjstate"


def load_manifest(path: Path) -> Any:
    """``kodo_jobs.manifest.load(path)``: raises ManifestError (exit 2) with located problems.

    The values of ``secret: true`` variables are registered with the log redactor before
    anything can print them (like the target's keys in :func:`kodo_jobs.pipeline.targets.open_target`).
    """
    if not path.exists():
        raise UsageError(f"manifest {path} does not exist")
    loader = importlib.import_module("kodo_jobs.manifest.loader")
    manifest = loader.load(path)
    for secret in getattr(manifest, "secrets", ()):
        register_secret(secret)
    return manifest


def manifest_sha(path: Path) -> str:
    """Fingerprint of the manifest file: a rerun resumes done actions only under the same one."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def default_state_path(manifest_path: Path) -> Path:
    """``media.yaml`` -> ``media.kjstate`` beside it."""
    return manifest_path.resolve().with_suffix(STATE_SUFFIX)


def new_run_id() -> str:
    """A short unique run id (also in log lines and the report)."""
    return uuid.uuid4().hex[:12]


def select_jobs(manifest: Any, names: Sequence[str]) -> list[Any]:
    """The manifest's jobs in ``needs`` order, restricted to ``names`` when given."""
    ordered = list(manifest.jobs_in_order()) if hasattr(manifest, "jobs_in_order") else list(manifest.jobs)
    if not names:
        return ordered
    known = {j.name for j in ordered}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"--job {', '.join(unknown)}: no such job in {manifest.path} "
                         f"(jobs: {', '.join(sorted(known))})")
    wanted = set(names)
    return [j for j in ordered if j.name in wanted]


def manifest_dir(manifest: Any, path: Path) -> Path:
    """The folder relative paths of the manifest are resolved against."""
    p = getattr(manifest, "path", None) or path
    return Path(p).resolve().parent
