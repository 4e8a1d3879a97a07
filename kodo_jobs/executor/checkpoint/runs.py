"""``runs``: one row per run (start, end, status, the report summary), kept small by compaction.

A cron job every ten minutes starts about 50,000 runs a year, so history is bounded twice:

* rows: only the newest :data:`KEEP_RUNS` runs are kept (older rows are deleted when a run
  starts). Nothing reads older history: resuming needs the latest unfinished streak only.
* summaries: a finished run's ``summary`` is the whole report JSON, failures and their
  messages included, which can be far larger than the row. :meth:`Runs.compact` (at the end of
  every run) drops it from finished runs that are neither among the newest
  :data:`KEEP_FULL_RUNS` nor younger than :data:`SUMMARY_RETENTION`; the row itself (id,
  times, status) stays until the row limit removes it. ``status`` reads the last run only.

So the table holds at most :data:`KEEP_RUNS` rows, of which at most that many carry a summary
(all of them only when runs are frequent enough to fit in the retention) and usually fewer.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kodo_jobs.executor.checkpoint.database import Database

KEEP_RUNS = 200
"""Rows of ``runs`` kept (older ones are deleted when a run starts)."""
KEEP_FULL_RUNS = 50
"""The newest runs whose summary is always kept."""
SUMMARY_RETENTION = 30 * 86400.0
"""Seconds a finished run keeps its summary even when it is not among :data:`KEEP_FULL_RUNS`."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, seq INTEGER NOT NULL, manifest_sha TEXT NOT NULL, jobs TEXT NOT NULL,
  started REAL NOT NULL, ended REAL, status TEXT NOT NULL, dry_run INTEGER NOT NULL DEFAULT 0,
  summary TEXT
);
CREATE INDEX IF NOT EXISTS runs_seq ON runs (seq);
"""

Summary = dict[str, object]
"""A run's report summary: a JSON object (see ``Report.to_json``); never holds secrets."""

_RunRow = tuple[str, str, str, float, float | None, str, int, str | None]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One row of ``runs``."""

    id: str
    manifest_sha: str
    jobs: tuple[str, ...]
    started: float
    ended: float | None
    status: str  # running | ok | failed | aborted | interrupted
    dry_run: bool
    summary: Summary
    """Empty when the run has not ended, or compaction dropped it (see the module docstring)."""


class Runs:
    """The ``runs`` table of one state file."""

    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock

    def begin(self, run_id: str, manifest_sha: str, jobs: Iterable[str], *, dry_run: bool) -> None:
        """Record the start of a run (and forget runs beyond :data:`KEEP_RUNS`)."""
        with self._db.lock:
            conn = self._db.conn
            seq = int(conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM runs").fetchone()[0])
            conn.execute(
                "INSERT INTO runs (id, seq, manifest_sha, jobs, started, status, dry_run) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (run_id, seq, manifest_sha, json.dumps(list(jobs)), self._clock(), int(dry_run)),
            )
            conn.execute("DELETE FROM runs WHERE seq <= ?", (seq - KEEP_RUNS,))
            self._db.commit()

    def end(self, run_id: str, status: str, summary: Summary) -> None:
        """Record how a run ended, with its report summary (JSON, no secrets), then compact."""
        with self._db.lock:
            self._db.conn.execute("UPDATE runs SET ended = ?, status = ?, summary = ? WHERE id = ?",
                                  (self._clock(), status, json.dumps(summary), run_id))
            self.compact()
            self._db.commit()

    def compact(self) -> int:
        """Drop the summaries the retention no longer keeps; returns how many (caller commits)."""
        with self._db.lock:
            conn = self._db.conn
            newest = int(conn.execute("SELECT coalesce(max(seq), 0) FROM runs").fetchone()[0])
            cur = conn.execute(
                "UPDATE runs SET summary = NULL WHERE summary IS NOT NULL AND ended IS NOT NULL "
                "AND seq <= ? AND ended < ?",
                (newest - KEEP_FULL_RUNS, self._clock() - SUMMARY_RETENTION))
            return cur.rowcount

    def last(self, *, include_dry: bool = False) -> RunRecord | None:
        """The most recent run (real runs only unless ``include_dry``)."""
        where = "" if include_dry else "WHERE dry_run = 0"
        with self._db.lock:
            row: _RunRow | None = self._db.conn.execute(
                f"SELECT id, manifest_sha, jobs, started, ended, status, dry_run, summary FROM runs {where} "
                "ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        return RunRecord(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4], row[5], bool(row[6]),
                         json.loads(row[7]) if row[7] else {})

    def unfinished(self, manifest_sha: str) -> list[str]:
        """Ids of the latest runs of this manifest that did not end ``ok`` (newest first).

        The streak stops at the first run that ended ok or ran another manifest version, so a
        rerun resumes exactly the work those runs left, never older history.
        """
        out: list[str] = []
        # newest first, stopping at the streak's end: usually one row is read
        sql = "SELECT id, manifest_sha, status FROM runs WHERE dry_run = 0 ORDER BY seq DESC"
        with self._db.lock, contextlib.closing(self._db.conn.execute(sql)) as rows:
            for run_id, sha, status in rows:
                if status == "ok" or sha != manifest_sha:
                    break
                out.append(run_id)
        return out
