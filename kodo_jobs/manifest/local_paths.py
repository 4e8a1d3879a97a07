"""What ``validate`` checks on the local file system: the inputs the jobs will read.

Checked, for enabled jobs only: the folder an upload ``sync`` reads (``source``) exists and is a
folder; every ``keys_file``/``urls_file`` exists, is a regular file and can be opened. Not
checked: outputs (``success_file``, ``failure_file``, ``report.out``, ``logs_dir``, the folder
of a download ``sync``), which the run creates; and an input that another job of the same
manifest writes (a fetch's ``failure_file`` retried by a later job as its ``urls_file``), which
may not exist before that job ran.

``plan`` and ``run`` do not run these checks at load time: a missing input is reported by the
job that reads it, so the manifest's other jobs can still run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kodo_jobs.manifest.models import AnyJob, Manifest
from kodo_jobs.manifest.yamlio import PathKey

_INPUT_FILES = ("keys_file", "urls_file")
_OUTPUT_FILES = ("success_file", "failure_file")


def _outputs(jobs: tuple[AnyJob, ...]) -> set[Path]:
    """Files some job of the manifest writes (resolved), whatever its kind."""
    found: set[Path] = set()
    for job in jobs:
        for name in _OUTPUT_FILES:
            value = getattr(job, name, None)
            if isinstance(value, Path):
                found.add(value.resolve())
        report = getattr(job, "report", None)
        out = getattr(report, "out", None)
        if isinstance(out, Path):
            found.add(out.resolve())
    return found


def _file_problem(path: Path) -> str | None:
    if not path.exists():
        return f"file not found: {path}"
    if path.is_dir():
        return f"{path} is a folder, not a file"
    try:
        with path.open("rb") as f:
            f.read(1)
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or type(exc).__name__}"
    return None


def _folder_problem(path: Path) -> str | None:
    if not path.exists():
        return f"folder not found: {path} (the folder to upload)"
    if not path.is_dir():
        return f"{path} is a file, not a folder"
    try:
        next(path.iterdir(), None)
    except OSError as exc:
        return f"cannot read the folder {path}: {exc.strerror or type(exc).__name__}"
    return None


def input_path_problems(manifest: Manifest) -> Iterator[tuple[PathKey, str]]:
    """``(field path, message)`` for every local input of an enabled job that cannot be read."""
    produced = _outputs(manifest.jobs)
    for i, job in enumerate(manifest.jobs):
        if not job.enabled:
            continue
        if job.kind == "sync" and job.direction == "upload":
            problem = _folder_problem(job.source)
            if problem is not None:
                yield ("jobs", i, "source"), problem
        for name in _INPUT_FILES:
            value = getattr(job, name, None)
            if not isinstance(value, Path) or value.resolve() in produced:
                continue
            problem = _file_problem(value)
            if problem is not None:
                yield ("jobs", i, name), problem
