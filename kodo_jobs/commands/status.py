"""`kodo-jobs status MANIFEST`: what the last run did and what is unfinished.

Reads the state file only (no lock: it may be shown while a run is going on; SQLite WAL gives a
consistent snapshot). Shows the last run's start, end and status, the counts per job and
status, pending actions, partial chunked uploads with the bytes already sent, and the state
file's size with its big tables' row counts.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from kodo_jobs.errors import EXIT_OK, UsageError
from kodo_jobs.pipeline.load import default_state_path
from kodo_jobs.pipeline.shard import parse_shard, shard_state_path
from kodo_jobs.pipeline.status import StatusDoc, read_status
from kodo_jobs.textsafe import escape_text
from kodo_jobs.units import human_bytes


def status(manifest: Path, *, state: Path | None = None, as_json: bool = False, shard: str | None = None) -> int:
    """Print the status; exit 0 (2 if there is no readable state file).

    ``shard``: that shard's own state file; without it, when there is no unsharded state file
    but shard state files lie beside it, they are shown together (per shard and summed)."""
    if not manifest.exists() and state is None:
        raise UsageError(f"manifest {manifest} does not exist")
    state_path = (state or default_state_path(manifest)).resolve()
    if shard is not None:  # one shard's state file
        state_path = shard_state_path(state_path, parse_shard(shard))
    elif _show_shard_sets(state_path, as_json):  # a sharded run's files, together
        return EXIT_OK
    size = state_path.stat().st_size if state_path.exists() else None
    if not size:  # an empty file is a state file with no history (see executor/checkpoint/database.py)
        if as_json:
            sys.stdout.write(json.dumps({"state": str(state_path), "last_run": None}) + "\n")
        else:
            why = "does not exist" if size is None else "is empty"
            sys.stdout.write(f"no run recorded yet ({state_path} {why})\n")
        return EXIT_OK
    doc = read_status(state_path)
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        _render(doc)
    return EXIT_OK


def _show_shard_sets(state_path: Path, as_json: bool) -> bool:
    """Show the shard state files beside ``state_path`` when it has no history itself; False
    when there is nothing of the kind (the unsharded status is shown instead)."""
    from kodo_jobs.pipeline.shard_status import collect_shards, find_shards, render_shards

    if (state_path.exists() and state_path.stat().st_size) or not find_shards(state_path):
        return False
    doc = {"state": str(state_path), **collect_shards(state_path)}
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(f"state: {escape_text(str(state_path))} (sharded: one state file per shard)\n")
        render_shards(doc, sys.stdout)
        sys.stdout.write("`kodo-jobs status --shard I/N` shows one shard in detail\n")
    return True


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _render(doc: StatusDoc) -> None:
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
