"""Step 1 of the pipeline: the manifest loaded and checked, its jobs chosen, its state file named.

``plan``, ``run``, ``status`` and ``watch`` all start here. :func:`load_run` turns the options
of ``run`` into a :class:`RunSetup`: the manifest, the jobs in ``needs`` order, the state file,
and the :class:`Source` of each job's actions (its kind's planner, or a reviewed saved plan;
optionally one shard of the keys). A saved plan is refused here (:func:`check_saved_plan`),
before anything runs, when the manifest changed since, when it holds anything the manifest
could not have produced, or when a fact it was planned from no longer holds.

The manifest models (pydantic) are imported when a manifest is loaded, not when this module is
imported: ``status`` and ``kodo-jobs --help`` never pay for them.
"""

from __future__ import annotations

import hashlib
import importlib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kodo_jobs.errors import UsageError
from kodo_jobs.log import register_secret
from kodo_jobs.pipeline.shard import parse_shard, shard_state_path

if TYPE_CHECKING:
    from kodo_jobs.manifest.models import AnyJob as AnyJob
    from kodo_jobs.manifest.models import Manifest as Manifest
    from kodo_jobs.pipeline.saved_plan import SavedPlan

STATE_SUFFIX = ".kjstate"


@dataclass(frozen=True)
class Source:
    """Where each job's actions come from: its kind's planner, or a saved plan; optionally a
    shard of the keys, or only some keys.

    ``only_keys`` is the seam for a long-lived caller that knows which objects changed (a
    watcher): the planned actions are restricted to those keys, like a shard."""

    shard: tuple[int, int] | None = None
    saved: SavedPlan | None = None
    saved_sha: str = ""
    """SHA-256 of the saved plan file, read once before it is checked: what a finished run
    records as applied."""
    manifest_jobs: frozenset[str] = frozenset()
    only_keys: frozenset[str] | None = None

    def skip_reason(self, spec: AnyJob) -> str:
        """Why a manifest job is not run with this source ("" = run it)."""
        if self.saved is not None and spec.name in self.manifest_jobs and spec.name not in self.saved.jobs:
            return f"not in the saved plan {self.saved.path}"
        return ""


@dataclass(frozen=True)
class RunSetup:
    """Everything ``run`` needs before it runs: the loaded manifest and the chosen jobs."""

    manifest: Manifest
    manifest_path: Path
    """The path as given on the command line (the report names it so)."""
    specs: tuple[AnyJob, ...]
    """The selected jobs, in ``needs`` order."""
    state_path: Path
    source: Source

    @property
    def manifest_dir(self) -> Path:
        """The folder relative paths of the manifest are resolved against."""
        return manifest_dir(self.manifest, self.manifest_path)


def load_run(path: Path, *, jobs: Sequence[str] = (), state: Path | None = None, shard: str | None = None,
             plan_file: Path | None = None) -> RunSetup:
    """The manifest at ``path`` loaded (ManifestError, exit 2), the jobs chosen (UsageError on an
    unknown ``--job``), the state file named (per shard), and a saved plan read and matched to
    the manifest's fingerprint. The plan's actions are checked later, by :func:`check_saved_plan`."""
    from kodo_jobs.pipeline import saved_plan

    manifest = load_manifest(path)
    specs = select_jobs(manifest, jobs)
    saved = _saved_plan(plan_file, path)
    source = Source(shard=parse_shard(shard), saved=saved,
                    saved_sha=saved_plan.fingerprint(saved) if saved is not None else "",
                    manifest_jobs=frozenset(s.name for s in specs))
    state_path = shard_state_path((state or default_state_path(path)).resolve(), source.shard)
    return RunSetup(manifest, path, tuple(specs), state_path, source)


def already_applied(setup: RunSetup) -> str | None:
    """Which run applied the saved plan of this setup in full, if its state file says one did."""
    from kodo_jobs.executor.checkpoint import Checkpoint
    from kodo_jobs.pipeline import saved_plan

    if setup.source.saved is None or not setup.state_path.exists():
        return None
    with Checkpoint(setup.state_path, create=False, readonly=True) as cp:
        return saved_plan.applied_note(setup.source.saved_sha, cp)


def check_saved_plan(setup: RunSetup) -> None:
    """Refuse a saved plan before anything runs: every action must be one the manifest could
    plan (:class:`~kodo_jobs.pipeline.saved_plan.UntrustedPlan`), and every fact it rests on
    must still hold (:class:`~kodo_jobs.pipeline.saved_plan.StalePlan`): a stale plan changes nothing."""
    from kodo_jobs.pipeline import saved_plan
    from kodo_jobs.pipeline.targets import open_target

    saved = setup.source.saved
    if saved is None:
        return
    saved_plan.check(saved, {j.name: j for j in setup.manifest.jobs})
    with open_target(setup.manifest.target, setup.manifest_dir) as client:
        saved_plan.verify(saved, {s.name: s for s in setup.specs}, client, shard=setup.source.shard)


def _saved_plan(plan_file: Path | None, manifest: Path) -> SavedPlan | None:
    from kodo_jobs.pipeline.saved_plan import read_saved_plan

    if plan_file is None:
        return None
    try:
        saved = read_saved_plan(plan_file)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--plan {plan_file}: {exc}") from exc
    sha = saved.head.get("manifest_sha")
    if sha != manifest_sha(manifest):
        raise UsageError(f"--plan {plan_file} was made from another version of {manifest} (or another "
                         "manifest): make a new plan with `kodo-jobs plan -o` and review it again")
    return saved


def load_manifest(path: Path) -> Manifest:
    """``kodo_jobs.manifest.load(path)``: raises ManifestError (exit 2) with located problems.

    The values of ``secret: true`` variables are registered with the log redactor before
    anything can print them (like the target's keys in :func:`kodo_jobs.pipeline.targets.open_target`).
    """
    if not path.exists():
        raise UsageError(f"manifest {path} does not exist")
    loader = importlib.import_module("kodo_jobs.manifest.loader")
    manifest: Manifest = loader.load(path)
    for secret in manifest.secrets:
        register_secret(secret)
    return manifest


def validate_manifests(paths: Sequence[Path]) -> Iterator[tuple[Path, Manifest]]:
    """``validate``: yield each valid manifest of ``paths`` (a folder stands for the ``*.yaml`` and
    ``*.yml`` files directly inside it), then raise one ManifestError with every problem of
    every invalid one. Besides the manifest itself, the local inputs of its enabled jobs are
    checked (upload ``source`` folders, ``keys_file``, ``urls_file``)."""
    from kodo_jobs.manifest import ManifestError, Problem, load

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
        yield path, manifest
    if problems:
        raise ManifestError(problems)


def _expand(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
            files.extend(found or [path])
        else:
            files.append(path)
    return files


@contextmanager
def state_file_errors(path: Path) -> Iterator[None]:
    """Within the block, a damaged or foreign state file is exit 2 naming ``path``, wherever it
    shows (:func:`kodo_jobs.executor.checkpoint.state_file_errors`)."""
    from kodo_jobs.executor.checkpoint import state_file_errors as errors

    with errors(path):
        yield


def manifest_sha(path: Path) -> str:
    """Fingerprint of the manifest file: a rerun resumes done actions only under the same one."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def default_state_path(manifest_path: Path) -> Path:
    """``media.yaml`` -> ``media.kjstate`` beside it."""
    return manifest_path.resolve().with_suffix(STATE_SUFFIX)


def new_run_id() -> str:
    """A short unique run id (also in log lines and the report)."""
    return uuid.uuid4().hex[:12]


def select_jobs(manifest: Manifest, names: Sequence[str]) -> list[AnyJob]:
    """The manifest's jobs in ``needs`` order, restricted to ``names`` when given."""
    ordered = manifest.jobs_in_order()
    if not names:
        return ordered
    known = {j.name for j in ordered}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"--job {', '.join(unknown)}: no such job in {manifest.path} "
                         f"(jobs: {', '.join(sorted(known))})")
    wanted = set(names)
    return [j for j in ordered if j.name in wanted]


def manifest_dir(manifest: Manifest, path: Path) -> Path:
    """The folder relative paths of the manifest are resolved against."""
    return Path(manifest.path or path).resolve().parent
