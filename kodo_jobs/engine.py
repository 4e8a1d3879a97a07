"""The pieces ``plan``, ``run`` and ``status`` share: manifest, job selection, state path, planning.

This is the one module that knows manifests, kinds and the executor together (the executor
itself knows only actions), so each command stays a short, readable pipeline.
"""

from __future__ import annotations

import hashlib
import importlib
import uuid
import zlib
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from kodo_jobs.errors import UsageError
from kodo_jobs.executor.checkpoint import Checkpoint
from kodo_jobs.jobs import KINDS
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.log import register_secret
from kodo_jobs.plan import Action, OpCount, Outcome

STATE_SUFFIX = ".kjstate"


def load_manifest(path: Path) -> Any:
    """``kodo_jobs.manifest.load(path)``: raises ManifestError (exit 2) with located problems.

    The values of ``secret: true`` variables are registered with the log redactor before
    anything can print them (like the target's keys in :func:`kodo_jobs.targets.open_target`).
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


def plan_job(spec: Any, ctx: JobContext, checkpoint: Checkpoint, *, gen: str,
             keep_done_of: Collection[str] = (), shard: tuple[int, int] | None = None,
             actions: Iterable[Action] | None = None, unchanged_rows: bool | None = None) -> dict[str, OpCount]:
    """Stream one job's plan (or the given saved ``actions``) into ``checkpoint``; counts per op.

    ``unchanged_rows``: whether unchanged (``same``/``skip``) actions get a row each (to be
    listed: ``plan --all``/``--json``/``-o``) or are only counted. Default: rows in a dry run
    (``plan``, ``run --dry-run``), counts in a real run, which never lists them.
    """
    source = actions if actions is not None else KINDS[spec.kind].plan(spec, ctx)
    if shard is not None:
        source = (a for a in source if in_shard(a.key, shard))
    return checkpoint.store_plan(spec.name, source, gen=gen, keep_done_of=keep_done_of,
                                 unchanged_rows=bool(ctx.dry_run) if unchanged_rows is None else unchanged_rows)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/4"`` -> ``(2, 4)``; UsageError on anything else.

    Shards count from 0 (``0/4`` .. ``3/4``), like a Kubernetes Indexed Job's
    ``JOB_COMPLETION_INDEX``, so the index can be passed through unchanged.
    """
    if text is None:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        i, n = -1, 0
    if not (n >= 1 and 0 <= i < n):
        raise UsageError(f"--shard {text!r}: use I/N with 0 <= I < N (shards count from 0), e.g. --shard 0/4")
    return i, n


def in_shard(key: str, shard: tuple[int, int]) -> bool:
    """Whether ``key`` belongs to shard ``(i, n)``: a stable hash, the same on every machine."""
    i, n = shard
    return zlib.crc32(key.encode("utf-8")) % n == i


def bind_run(spec: Any, ctx: JobContext) -> Any:
    """The kind's ``run`` bound to ``ctx``, as the runner's plain callable."""
    kind = KINDS[spec.kind]

    def run(actions: Sequence[Action]) -> list[Outcome]:
        return kind.run(actions, ctx)

    return run


def batch_size(spec: Any) -> int:
    """The kind's batch size (1: one action per call)."""
    return max(1, int(getattr(KINDS[spec.kind], "batch_size", 1)))


def concurrency(spec: Any, override: int | None) -> int:
    """Workers for a job: ``--concurrency`` or the job's ``concurrency``, capped by the kind's
    optional ``max_concurrency`` (a kind whose calls must be sequential, e.g. to learn a quota
    from each answer, declares ``max_concurrency = 1``)."""
    wanted = override or int(getattr(spec, "concurrency", 4))
    cap = getattr(KINDS[spec.kind], "max_concurrency", None)
    return max(1, min(wanted, int(cap)) if cap else wanted)


def phase_batch_sizes(spec: Any) -> dict[int, int]:
    """Optional per-phase batch sizes a kind declares (``phase_batch_sizes = {1: 1000}``)."""
    sizes = getattr(KINDS[spec.kind], "phase_batch_sizes", None) or {}
    return {int(k): max(1, int(v)) for k, v in dict(sizes).items()}
