"""A year of 10-minute cron runs over a 100,000-file tree keeps the state file small.

The simulation drives the Checkpoint API the way a sync run does, fast-forwarded by an
injected clock: ``begin_run``; ``store_plan`` of the changed files' actions (unchanged files
tallied, not stored); outcomes recorded; ``remember_etag`` for every uploaded file; at the
end of a full walk ``prune_hash_cache``; ``end_run`` with a report-like summary. The tree
churns: every run uploads :data:`NEW_PER_RUN` new files, and a retention
script deletes the oldest month of files every month (the sync only uploads: the bucket keeps
them), so over the year twice the tree's size passes through the hash cache.

Three simplifications keep it fast (the year is still over 100,000 commits), none of which can
hide growth: every run records itself, but the sync traffic (plan, outcomes, hashes) is
driven once a simulated hour for that hour's files (:data:`SYNC_EVERY`: the plan tables are
replaced by every plan and the hash cache sees every file either way); a full walk, and so
a prune, is simulated once a simulated week rather than after every run (a real sync prunes
after every walk, which only leaves fewer stale rows); and the unchanged files a run plans
stand in as a few ``same`` actions (they are tallied into one row per op either way).

The bound, :data:`STATE_BOUND_BYTES` (docs/operations-at-scale.md, "State file size"):

* the hash cache: at most :data:`MAX_ROWS` rows (the tree plus a month and a week of new files) at
  :data:`HASH_ROW_BYTES` each (path and etag in the table, the path again in its index);
* ``runs``: :data:`~kodo_jobs.executor.checkpoint.KEEP_RUNS` rows with a summary of at most
  :data:`SUMMARY_BYTES` (the failing runs' summaries carry a hundred failures);
* the ``-wal`` file: ``WAL_LIMIT`` (a checkpoint every 1000 pages cuts it back to that) plus
  :data:`TXN_BYTES` for the transaction that crosses it;
* :data:`SLACK_BYTES` for the small tables, free pages and page fill.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.executor.checkpoint import KEEP_RUNS, Checkpoint, database, runs

FILES = 100_000
"""Files in the tree when the year starts."""
PER_DAY = 144
"""Runs a day: one every ten minutes."""
RUNS = 365 * PER_DAY
"""52,560: a year of runs."""
NEW_PER_RUN = 4
"""New files uploaded by every run (one more existing file is edited)."""
WALK_EVERY = 7 * PER_DAY
"""Runs per simulated full walk (and prune): a week."""
SYNC_EVERY = 6
"""Runs per simulated sync traffic: every run records itself (``begin_run``/``end_run``),
and every sixth run also plans, records and hashes the files of the last hour."""
DELETE_EVERY = 30 * PER_DAY
"""A month: a retention script deletes the month's worth of oldest files once a month."""
MAX_ROWS = FILES + NEW_PER_RUN * (DELETE_EVERY + WALK_EVERY)
"""The most hash-cache rows that may be kept: the tree just before a monthly deletion, plus
the files uploaded before the next weekly walk prunes the deleted ones."""
HASH_ROW_BYTES = 128
"""Budget per hash-cache row: a 30-byte path twice (table and index), a 28-byte etag,
size, mtime and SQLite's record and cell headers, at the fill factor of pages that churn."""
SUMMARY_BYTES = 16 << 10
"""Budget per run summary (a failing run's summary lists a hundred failures)."""
TXN_BYTES = 1 << 20
"""The pages one commit of a steady-state run writes, with room to spare."""
SLACK_BYTES = 2 << 20
"""The small tables, ``meta``, free pages between reuse."""
STATE_BOUND_BYTES = (MAX_ROWS * HASH_ROW_BYTES + KEEP_RUNS * SUMMARY_BYTES
                     + database.WAL_LIMIT + TXN_BYTES + SLACK_BYTES)
"""The state file (main file plus ``-wal``) never grows beyond this in the simulated year."""

ROOT = "/srv/photos"
JOB = "photos"
SHA = "manifest-sha"
START = 1_767_225_600.0  # 2026-01-01 UTC


def _path(i: int) -> str:
    return f"{ROOT}/d{i // 1000:04d}/IMG_{i:08d}.jpg"


def _etag(i: int, version: int) -> str:
    return f"F{i:08d}{version:019d}"  # 28 characters, like a qetag


@dataclass
class Year:
    """What a simulation saw."""

    runs: int = 0
    max_bytes: int = 0
    hash_rows: int = 0
    actions_rows: int = 0
    runs_rows: int = 0
    final_bytes: int = 0


def _summary(run_id: str, start: float, status: str, uploads: int, failures: int) -> dict[str, object]:
    """Shaped like ``Report.to_json`` for one sync job."""
    return {
        "manifest": "/etc/kodo-jobs/photos.yaml", "run_id": run_id, "started": start, "ended": start + 42.0,
        "duration": 42.0, "status": status, "dry_run": False, "exit_code": 0 if status == "ok" else 1,
        "message": "", "payload_bytes": uploads * 2_500_000, "wire_bytes": uploads * 2_500_300,
        "jobs": [{
            "name": JOB, "kind": "sync", "status": status, "note": "", "duration": 41.5,
            "bytes_sent": uploads * 2_500_000, "payload_bytes": uploads * 2_500_000,
            "wire_bytes": uploads * 2_500_300,
            "counts": {"upload": {"done": uploads - failures, "failed": failures}, "same": {"skipped": FILES}},
            "failures_total": failures,
            "failures": [{"op": "upload", "key": f"d0001/IMG_{k:08d}.jpg", "code": 503,
                          "reqid": f"{k:016x}AAAAAAAA",
                          "message": "service unavailable after 5 attempts: upstream timeout talking to "
                                     "the storage node (retried with backoff)"} for k in range(failures)],
        }],
    }


def _plan(run_id: str, changed: list[int], mtime_ns: int) -> list[Action]:
    return ([Action(JOB, "upload", _path(i)[len(ROOT) + 1:], 2_500_000, params={"path": _path(i), "mtime_ns": mtime_ns})
             for i in changed]
            + [Action(JOB, "same", f"unchanged{k}", 2_500_000) for k in range(3)])  # stand-ins, tallied


def _sync_run(cp: Checkpoint, r: int, changed: list[int], now: float) -> None:
    """One run's traffic, as ``run`` and the sync job drive the checkpoint; with nothing
    ``changed`` only the run's own record (see :data:`SYNC_EVERY`)."""
    run_id = f"run{r:06d}"
    cp.begin_run(run_id, SHA, [JOB], dry_run=False)
    failing = r % 500 == 499  # now and then a run ends with failures
    failures = 100 if failing else 0
    if changed:
        mtime_ns = int(now * 1e9)
        plan = _plan(run_id, changed, mtime_ns)
        cp.store_plan(JOB, plan, gen=run_id, keep_done_of=cp.unfinished_runs(SHA), unchanged_rows=False)
        for n, a in enumerate(plan[:-3]):
            ok = n >= failures
            cp.record(Outcome(a.id, "done" if ok else "failed", bytes=a.size if ok else 0),
                      run_id=run_id, attempts=1)
        for i in changed:
            cp.remember_etag(_path(i), 2_500_000, mtime_ns, _etag(i, r))
    status = "failed" if failing else "ok"
    cp.end_run(run_id, status, _summary(run_id, now, status, len(changed), failures))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory for the state files: in ``/dev/shm`` when there is one, so the year's
    100,000-odd commits cost CPU only, not waits for a shared disk. File sizes are the same on
    any file system."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        with tempfile.TemporaryDirectory(prefix="kodo-jobs-state-size-", dir=shm) as d:
            yield Path(d)
    else:
        yield tmp_path_factory.mktemp("state-size")


@pytest.fixture(scope="module")
def first_sync(scratch: Path) -> Path:
    """The state file after run 0, the first sync of the whole tree (shared: it is the slow part)."""
    state = scratch / "first.kjstate"
    with Checkpoint(state, clock=lambda: START) as cp:
        _sync_run(cp, 0, list(range(FILES)), START)
    return state


def _disk_bytes(state: str) -> int:
    try:
        wal = os.stat(state + "-wal").st_size
    except FileNotFoundError:
        wal = 0
    return os.stat(state).st_size + wal


def simulate(first: Path, state: Path, *, prune: bool, stop_above: int | None = None) -> Year:
    """Runs 1.. of the year from a copy of ``first`` (or until the file is larger than
    ``stop_above``); see the module docstring. The size is read after every run from the first
    plan that replaced the first sync's (until then its 100,000 actions are the last plan,
    kept for ``status``)."""
    shutil.copyfile(first, state)
    now = [START]
    year = Year(runs=1)
    lo, hi = 0, FILES  # the tree is the files lo..hi-1 (oldest deleted first)

    def walk() -> Iterator[str]:
        return (_path(i) for i in range(lo, hi))

    with Checkpoint(state, clock=lambda: now[0]) as cp:
        changed: list[int] = []
        for r in range(1, RUNS):
            now[0] = START + 600.0 * r
            changed += range(hi, hi + NEW_PER_RUN)
            hi += NEW_PER_RUN
            if r % DELETE_EVERY == 0:
                lo += NEW_PER_RUN * DELETE_EVERY
                changed = [i for i in changed if i >= lo]
            if r % SYNC_EVERY:
                _sync_run(cp, r, [], now[0])
            else:
                if prune and r % WALK_EVERY == 0:  # the week's full walk
                    cp.prune_hash_cache(ROOT, walk(), hi - lo)
                _sync_run(cp, r, changed, now[0])
                changed = []
            year.runs = r + 1
            if r >= SYNC_EVERY:
                year.max_bytes = max(year.max_bytes, _disk_bytes(str(state)))
            if stop_above is not None and year.max_bytes > stop_above:
                break
        info = cp.size_info()
        year.hash_rows, year.actions_rows, year.runs_rows = info.hash_cache_rows, info.actions_rows, info.runs_rows
        year.final_bytes = info.file_bytes
    return year


@pytest.mark.slow
def test_a_year_of_cron_runs_stays_under_the_bound(first_sync: Path, scratch: Path) -> None:
    year = simulate(first_sync, scratch / "year.kjstate", prune=True)
    print(f"\nstate file: max {year.max_bytes} bytes, final {year.final_bytes}, bound {STATE_BOUND_BYTES}; "
          f"rows: hash_cache {year.hash_rows}, actions {year.actions_rows}, runs {year.runs_rows}")
    assert year.runs == RUNS
    assert year.max_bytes <= STATE_BOUND_BYTES
    assert year.hash_rows <= MAX_ROWS
    assert year.runs_rows == KEEP_RUNS
    assert year.actions_rows <= SYNC_EVERY * NEW_PER_RUN  # the last plan only


@pytest.mark.slow
def test_without_pruning_the_same_year_exceeds_the_bound(first_sync: Path, scratch: Path) -> None:
    year = simulate(first_sync, scratch / "no-prune.kjstate", prune=False, stop_above=STATE_BOUND_BYTES)
    print(f"\nwithout pruning: {year.max_bytes} bytes after {year.runs} runs")
    assert year.max_bytes > STATE_BOUND_BYTES


@pytest.mark.slow
def test_without_compaction_the_same_year_exceeds_the_bound(first_sync: Path, scratch: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs, "SUMMARY_RETENTION", math.inf)
    monkeypatch.setattr(database, "VACUUM_FREE_SHARE", 1.0)  # never
    year = simulate(first_sync, scratch / "no-compaction.kjstate", prune=True, stop_above=STATE_BOUND_BYTES)
    print(f"\nwithout compaction: {year.max_bytes} bytes after {year.runs} runs")
    assert year.max_bytes > STATE_BOUND_BYTES
