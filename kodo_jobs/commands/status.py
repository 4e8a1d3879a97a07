"""`kodo-jobs status MANIFEST`: what the last run did and what is unfinished.

Reads the state file only (no lock: it may be shown while a run is going on; SQLite WAL gives a
consistent snapshot). Shows the state file's size and its big tables' row counts, the last
run's start, end and status, the counts per job and status, pending actions, and partial
chunked uploads with the bytes already sent.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from kodo_jobs.errors import EXIT_OK, UsageError
from kodo_jobs.executor.checkpoint import Checkpoint, state_file_errors
from kodo_jobs.executor.lock import lock_holder
from kodo_jobs.pipeline.load import default_state_path
from kodo_jobs.textsafe import escape_text
from kodo_jobs.units import human_bytes


def status(manifest: Path, *, state: Path | None = None, as_json: bool = False) -> int:
    """Print the status; exit 0 (2 if there is no readable state file)."""
    if not manifest.exists() and state is None:
        raise UsageError(f"manifest {manifest} does not exist")
    state_path = (state or default_state_path(manifest)).resolve()
    size = state_path.stat().st_size if state_path.exists() else None
    if not size:  # an empty file is a state file with no history (see executor/checkpoint/database.py)
        if as_json:
            sys.stdout.write(json.dumps({"state": str(state_path), "last_run": None}) + "\n")
        else:
            why = "does not exist" if size is None else "is empty"
            sys.stdout.write(f"no run recorded yet ({state_path} {why})\n")
        return EXIT_OK
    with state_file_errors(state_path), Checkpoint(state_path, create=False) as cp:
        doc = _collect(cp, state_path)
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        _render(doc)
    return EXIT_OK


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


def _collect(cp: Checkpoint, state_path: Path) -> dict[str, Any]:
    last = cp.last_run()
    holder, running = lock_holder(state_path)
    uploads = []
    for action_id, state_json, updated in cp.uploads():
        done, size = upload_progress(state_json)
        job, _, rest = action_id.partition("\x1f")
        op, _, key = rest.partition("\x1f")
        uploads.append({"job": job, "op": op, "key": key, "bytes_done": done, "size": size, "updated": updated})
    sizes = cp.size_info()
    return {
        "state": str(state_path),
        "state_size": {"bytes": sizes.file_bytes, "free_bytes": sizes.free_bytes,
                       "hash_cache": sizes.hash_cache_rows, "actions": sizes.actions_rows, "runs": sizes.runs_rows},
        "lock_holder": holder,
        "running": running,
        "last_run": None if last is None else {
            "id": last.id, "status": last.status, "started": last.started, "ended": last.ended,
            "jobs": list(last.jobs),
            "report": last.summary.get("jobs", []) if last.summary else [],
        },
        "counts": cp.counts(),
        "pending": cp.pending_count(),
        "partial_uploads": uploads,
    }


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _render(doc: dict[str, Any]) -> None:
    out = sys.stdout
    e = escape_text  # keys, names and hosts are untrusted: no control or bidi character gets out
    out.write(f"state: {e(doc['state'])}\n")
    z = doc.get("state_size")
    if z:
        out.write(f"state file: {human_bytes(z['bytes'])} ({z['bytes']} bytes; hash cache {z['hash_cache']} entries, "
                  f"{z['actions']} actions, {z['runs']} runs)\n")
    h = doc["lock_holder"] or {}
    if doc["running"]:
        out.write(f"running now: pid {e(str(h.get('pid', '?')))} on {e(str(h.get('host', '?')))} "
                  f"since {e(str(h.get('started', '?')))}\n")
    elif h:
        out.write(f"the run of pid {e(str(h.get('pid')))} on {e(str(h.get('host')))} (started "
                  f"{e(str(h.get('started')))}) did not end cleanly (killed or crashed); the next run resumes its work\n")
    last = doc["last_run"]
    if last is None:
        out.write("no run recorded yet\n")
    else:
        state = last["status"] if last["ended"] is not None else (
            "running" if doc["running"] else "did not end (killed or crashed)")
        out.write(f"last run {e(last['id'])}: {e(state)}; started {_when(last['started'])}, "
                  f"ended {_when(last['ended'])}\n")
    partial: dict[tuple[str, str], int] = {}
    for u in doc["partial_uploads"]:
        partial[(u["job"], u["op"])] = partial.get((u["job"], u["op"]), 0) + u["bytes_done"]
    for job, ops in doc["counts"].items():
        out.write(f"  {e(job)}:\n")
        for op, c in sorted(ops.items()):
            st = ", ".join(f"{k} {v}" for k, v in sorted(c.items()) if k not in ("bytes", "sent") and v)
            # bytes of unfinished chunked uploads count as sent: they are on the server already
            in_parts = partial.get((job, op), 0)
            sent = human_bytes(c.get("sent", 0) + in_parts)
            parts_note = f", {human_bytes(in_parts)} of it in unfinished uploads" if in_parts else ""
            out.write(f"    {e(op):<10} {e(st)}  ({human_bytes(c.get('bytes', 0))} planned, {sent} sent{parts_note})\n")
    out.write(f"unfinished: {doc['pending']} pending action(s)")
    ups = doc["partial_uploads"]
    out.write(f", {len(ups)} partial upload(s)\n" if ups else "\n")
    for u in ups:
        total = f" of {human_bytes(u['size'])}" if u["size"] else ""
        out.write(f"  {e(u['job'])}: {e(u['key'])}: {human_bytes(u['bytes_done'])}{total} sent\n")
    if doc["pending"] or ups:
        out.write("run the same `kodo-jobs run` command again to finish them\n")
