"""``status`` of a sharded run: every ``<state>.shard-I-of-N`` file beside the state file, together.

``run --shard I/N`` gives each shard its own state file (:mod:`.shard`), so after an Indexed Job
the operator has N files and one question: is the whole thing done? :func:`find_shards` finds the
files by name (grouped by N: a re-sharding leaves the old set beside the new one), and
:func:`shard_summary` reads each one read-only (no lock: a shard may be running) into done,
failed, unfinished and its last run; :func:`render_shards` prints one line per shard and the sum.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from kodo_jobs.textsafe import escape_text

_SHARD_NAME = re.compile(r"^(?P<base>.+)\.shard-(?P<i>\d{1,6})-of-(?P<n>\d{1,6})$")


@dataclass(frozen=True, slots=True)
class ShardState:
    """One shard's state file, read: its counts and last run (``error`` when it could not be read)."""

    index: int
    count: int
    path: str
    done: int = 0
    failed: int = 0
    unfinished: int = 0
    last_run: str | None = None
    last_status: str | None = None
    last_started: float | None = None
    last_ended: float | None = None
    error: str = ""


def find_shards(state: Path) -> dict[int, list[Path]]:
    """``{N: [shard files of N, by index]}`` beside ``state`` (only complete names I < N)."""
    found: dict[int, list[tuple[int, Path]]] = {}
    folder = state.parent
    if not folder.is_dir():
        return {}
    for p in folder.iterdir():
        m = _SHARD_NAME.match(p.name)
        if m is None or m.group("base") != state.name or not p.is_file():
            continue
        i, n = int(m.group("i")), int(m.group("n"))
        if 0 <= i < n:
            found.setdefault(n, []).append((i, p))
    return {n: [p for _, p in sorted(items)] for n, items in sorted(found.items())}


def shard_summary(path: Path) -> ShardState:
    """Read one shard's state file (read-only; an unreadable file is reported, not raised)."""
    import sqlite3

    from kodo_jobs.executor.checkpoint import Checkpoint

    m = _SHARD_NAME.match(path.name)
    i, n = (int(m.group("i")), int(m.group("n"))) if m else (0, 1)
    if path.stat().st_size == 0:
        return ShardState(i, n, str(path))
    try:
        with Checkpoint(path, create=False, readonly=True) as cp:
            counts = cp.counts()
            done = sum(c.get("done", 0) for ops in counts.values() for c in ops.values())
            failed = sum(c.get("failed", 0) for ops in counts.values() for c in ops.values())
            last = cp.last_run()
            return ShardState(i, n, str(path), done=done, failed=failed, unfinished=cp.pending_count(),
                              last_run=None if last is None else last.id,
                              last_status=None if last is None else (last.status if last.ended else "did not end"),
                              last_started=None if last is None else last.started,
                              last_ended=None if last is None else last.ended)
    except (sqlite3.DatabaseError, OSError, ValueError) as exc:
        return ShardState(i, n, str(path), error=f"{type(exc).__name__}: {exc}")


def collect_shards(state: Path, only_n: int | None = None) -> dict[str, Any]:
    """The JSON form: ``{"shard_sets": [{"count": N, "shards": [...], "total": {...}}]}``."""
    sets = []
    for n, paths in find_shards(state).items():
        if only_n is not None and n != only_n:
            continue
        shards = [shard_summary(p) for p in paths]
        sets.append({"count": n, "found": len(shards), "shards": [asdict(s) for s in shards], "total": _total(shards)})
    return {"shard_sets": sets}


def _total(shards: Iterable[ShardState]) -> dict[str, Any]:
    items = list(shards)
    ended = [s.last_ended for s in items if s.last_ended is not None]
    return {"done": sum(s.done for s in items), "failed": sum(s.failed for s in items),
            "unfinished": sum(s.unfinished for s in items),
            "last_ended": max(ended) if ended else None,
            "all_ok": bool(items) and all(s.last_status == "ok" and not s.error for s in items)}


def _when(ts: float | None) -> str:
    return "-" if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_shards(doc: dict[str, Any], out: IO[str]) -> None:
    """One line per shard and one summed line per shard set."""
    e = escape_text
    for group in doc["shard_sets"]:
        n = group["count"]
        missing = f" ({n - group['found']} shard file(s) missing)" if group["found"] < n else ""
        out.write(f"shards of {n}: {group['found']} state file(s){missing}\n")
        for s in group["shards"]:
            if s["error"]:
                out.write(f"  shard {s['index']}/{n}: unreadable ({e(s['error'])})\n")
                continue
            last = (f"last run {e(s['last_run'])} {e(s['last_status'] or '')}, ended {_when(s['last_ended'])}"
                    if s["last_run"] else "no run recorded")
            out.write(f"  shard {s['index']}/{n}: done {s['done']}, failed {s['failed']}, "
                      f"unfinished {s['unfinished']}; {last}\n")
        t = group["total"]
        verdict = "all shards ended ok" if t["all_ok"] and not missing else "not all shards ended ok"
        out.write(f"  all {n} shards: done {t['done']}, failed {t['failed']}, unfinished {t['unfinished']}; "
                  f"last ended {_when(t['last_ended'])}; {verdict}\n")


__all__ = ["ShardState", "collect_shards", "find_shards", "render_shards", "shard_summary"]
