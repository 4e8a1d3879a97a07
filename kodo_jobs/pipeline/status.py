"""What ``status`` reads: the last run, the lock holder and the unfinished work of a state file.

Reads the state file only (no lock: it may be read while a run is going on; SQLite WAL gives a
consistent snapshot). :func:`read_status` is the ``status --json`` document (JSON values).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypedDict

from kodo_jobs.executor.checkpoint import Checkpoint, state_file_errors
from kodo_jobs.executor.lock import lock_holder


class LastRun(TypedDict):
    """The last run recorded in the state file."""

    id: str
    status: str
    started: float
    ended: float | None
    jobs: list[str]
    report: list[object]
    """The ``jobs`` of its JSON report, as written."""


class PartialUpload(TypedDict):
    """A chunked upload with a saved session: the bytes already on the server."""

    job: str
    op: str
    key: str
    bytes_done: int
    size: int | None
    updated: float


class StateSize(TypedDict):
    """How big the state file is, and its big tables (``status`` shows it: the file stays bounded,
    see docs/operations-at-scale.md)."""

    bytes: int
    free_bytes: int
    hash_cache: int
    actions: int
    runs: int


class StatusDoc(TypedDict):
    """The ``status --json`` document."""

    state: str
    state_size: StateSize
    lock_holder: dict[str, object] | None
    running: bool
    last_run: LastRun | None
    counts: dict[str, dict[str, dict[str, int]]]
    """job -> op -> status (and ``bytes``/``sent``) -> count."""
    pending: int
    partial_uploads: list[PartialUpload]


def read_status(state_path: Path) -> StatusDoc:
    """The status document of the state file at ``state_path`` (which exists and is not empty)."""
    with state_file_errors(state_path), Checkpoint(state_path, create=False) as cp:
        return collect(cp, state_path)


def upload_progress(state_json: str) -> tuple[int, int | None]:
    """(bytes done, file size) read from a saved upload session, whatever its exact shape.

    The client's UploadState is opaque to the engine; the fields looked for are the common
    ones (``parts``/``blocks``/``contexts`` lists whose items carry a ``size``, plus
    ``size``/``file_size``/``part_size``), so a new field never breaks ``status``.
    """
    try:
        doc = json.loads(state_json)
    except ValueError:
        return 0, None
    if not isinstance(doc, dict):
        return 0, None
    size = next((doc[k] for k in ("file_size", "size", "fsize") if isinstance(doc.get(k), int)), None)
    part_size = doc.get("part_size") if isinstance(doc.get("part_size"), int) else None
    done = 0
    for key in ("parts", "finished", "done_parts", "blocks", "contexts", "ctxs"):
        items = doc.get(key)
        if isinstance(items, dict):
            items = list(items.values())
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("size"), int):
                done += item["size"]
            elif part_size:
                done += part_size
        break
    if size is not None:
        done = min(done, size)
    return done, size


def _job_reports(jobs: object) -> list[object]:
    """The per-job reports kept in a run's summary (a compacted old run keeps none)."""
    return list(jobs) if isinstance(jobs, list) else []


def collect(cp: Checkpoint, state_path: Path) -> StatusDoc:
    """The status document of ``status --json``: the last run, the lock holder, counts per job, op
    and status, pending actions and partial chunked uploads (JSON values)."""
    last = cp.last_run()
    holder, running = lock_holder(state_path)
    sizes = cp.size_info()
    uploads: list[PartialUpload] = []
    for action_id, state_json, updated in cp.uploads():
        done, size = upload_progress(state_json)
        job, _, rest = action_id.partition("\x1f")
        op, _, key = rest.partition("\x1f")
        uploads.append(PartialUpload(job=job, op=op, key=key, bytes_done=done, size=size, updated=updated))
    return StatusDoc(
        state=str(state_path),
        state_size=StateSize(bytes=sizes.file_bytes, free_bytes=sizes.free_bytes, hash_cache=sizes.hash_cache_rows,
                             actions=sizes.actions_rows, runs=sizes.runs_rows),
        lock_holder=holder,
        running=running,
        last_run=None if last is None else LastRun(
            id=last.id, status=last.status, started=last.started, ended=last.ended, jobs=list(last.jobs),
            report=_job_reports(last.summary.get("jobs") if last.summary else None)),
        counts=cp.counts(),
        pending=cp.pending_count(),
        partial_uploads=uploads,
    )
