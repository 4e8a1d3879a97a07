"""The manifest language: YAML -> validated, immutable :class:`Manifest` (or :class:`ManifestError`).

Boundary: imports nothing from ``kodo/``, ``jobs/``, ``executor/`` or ``emulator/``; it never
talks to Kodo. Public surface::

    from kodo_jobs.manifest import load, Manifest, ManifestError
    manifest = load(Path("media.yaml"))          # raises ManifestError (exit 2) with every problem
    for spec in manifest.jobs_in_order(): ...    # SyncJob | BatchJob | FetchJob | PfopJob | CdnJob
"""

from __future__ import annotations

from kodo_jobs.manifest.errors import ManifestError, Problem
from kodo_jobs.manifest.loader import load, load_text
from kodo_jobs.manifest.models import KIND_MODELS, AnyJob, Defaults, EnvVar, JobSpec, Manifest
from kodo_jobs.manifest.spec_batch import (
    BatchJob,
    BatchOp,
    ChgmOp,
    ChstatusOp,
    ChtypeOp,
    DaysOp,
    EmptyOp,
    LifecycleOp,
    MoveOp,
    RenameOp,
    RestoreOp,
)
from kodo_jobs.manifest.spec_cdn import CdnJob, CdnReport
from kodo_jobs.manifest.spec_common import JobBase, KeySource, RetryPolicy, Select, SoftDelete
from kodo_jobs.manifest.spec_fetch import FetchJob
from kodo_jobs.manifest.spec_pfop import FOP_VARIABLES, PfopJob
from kodo_jobs.manifest.spec_sync import CdnRefreshThen, DownloadOptions, PfopThen, SyncJob, Then
from kodo_jobs.manifest.target import ServiceHosts, Target, Timeouts
from kodo_jobs.manifest.types import Duration, Limit, Percent, Size, StorageClass, resolve_limit
from kodo_jobs.manifest.upload import PutPolicy, UploadOptions

__all__ = [
    "FOP_VARIABLES", "KIND_MODELS", "AnyJob", "BatchJob", "BatchOp", "CdnJob", "CdnRefreshThen",
    "CdnReport", "ChgmOp", "ChstatusOp", "ChtypeOp", "DaysOp", "Defaults", "DownloadOptions",
    "Duration", "EmptyOp", "EnvVar", "FetchJob", "JobBase", "JobSpec", "KeySource", "LifecycleOp", "Limit",
    "Manifest", "ManifestError", "MoveOp", "Percent", "PfopJob", "PfopThen", "Problem", "PutPolicy",
    "RenameOp", "RestoreOp", "RetryPolicy", "Select", "ServiceHosts", "Size", "SoftDelete",
    "StorageClass", "SyncJob", "Target", "Then", "Timeouts", "UploadOptions", "load", "load_text",
    "resolve_limit",
]
