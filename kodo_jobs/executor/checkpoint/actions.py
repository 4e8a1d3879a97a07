"""``actions`` (each job's current plan, one row per action with its status) and ``tallies``.

``tallies`` holds, per job and op, how many ``same``/``skip`` actions a run planned without
storing a row for each (see :meth:`Actions.store_plan`); it was added to schema 1 without a
version change, since a file without it simply has no tallies.

Size: every plan of a job replaces that job's rows (only ``done`` rows of the unfinished runs a
rerun resumes are kept), so the table holds the latest plan of each job and never grows with
the number of runs; in a real run unchanged files are tallied, not stored, so a no-op resync
adds no row per file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass

from kodo_jobs.actions import ERROR_OP, NO_CHANGE_OPS, Action, OpCount, Outcome
from kodo_jobs.executor.checkpoint.database import Database
from kodo_jobs.log import redact_text

PLAN_TXN = 2000
"""Actions inserted per transaction while a plan streams in."""
PAGE = 500
"""Pending actions read per page by the runner."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, job TEXT NOT NULL,
  op TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, phase INTEGER NOT NULL,
  params TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0, code INTEGER, reqid TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '', result TEXT NOT NULL DEFAULT '{}', gen TEXT NOT NULL,
  run_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS actions_job ON actions (job, phase, status, seq);
CREATE TABLE IF NOT EXISTS tallies (
  job TEXT NOT NULL, op TEXT NOT NULL, count INTEGER NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (job, op)
);
"""

_COLS = "seq, job, op, key, size, phase, params"
_ActionRow = tuple[int, str, str, str, int, int, str]  # the columns of _COLS
_InsertRow = tuple[str, str, str, str, int, int, str, str, str, str]
_CountRow = tuple[str, str, str, int, int | None, int | None]

Counts = dict[str, dict[str, dict[str, int]]]
"""``{job: {op: {status: count, "bytes": planned bytes, "sent": bytes sent}}}``."""


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed action, as the report shows it."""

    job: str
    op: str
    key: str
    code: int | None
    reqid: str
    message: str


def _row_action(row: _ActionRow) -> Action:
    _seq, job, op, key, size, phase, params = row
    return Action(job=job, op=op, key=key, size=size, phase=phase, params=json.loads(params))


class Actions:
    """The ``actions`` and ``tallies`` tables of one state file."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- plan ------------------------------------------------------------------------------

    def store_plan(self, job: str, actions: Iterable[Action], gen: str, *,
                   keep_done_of: Collection[str] = (), unchanged_rows: bool = True) -> dict[str, OpCount]:
        """See :meth:`kodo_jobs.executor.checkpoint.Checkpoint.store_plan`."""
        db = self._db
        counts: dict[str, list[int]] = {}
        keep = sorted(set(keep_done_of))
        marks = ",".join("?" * len(keep))
        with db.lock:
            db.conn.execute("DELETE FROM tallies WHERE job = ?", (job,))
            if keep:
                db.conn.execute(
                    f"DELETE FROM actions WHERE job = ? AND NOT (status = 'done' AND run_id IN ({marks}))",
                    (job, *keep))
            else:
                db.conn.execute("DELETE FROM actions WHERE job = ?", (job,))
            # no commit yet: the replacement commits with the first batch (a small plan, the
            # steady state of a cron job, is then one transaction instead of three)
        batch: list[_InsertRow] = []

        def write(*, last: bool = False) -> None:
            with db.lock:
                db.conn.executemany(
                    "INSERT INTO actions (id, job, op, key, size, phase, params, status, error, gen) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET size = excluded.size, phase = excluded.phase, "
                    "params = excluded.params, gen = excluded.gen",
                    batch,
                )
                if not last:
                    db.commit()
            batch.clear()

        tallied: set[str] = set()
        try:
            _store_rows(job, actions, gen, batch, counts, write, None if unchanged_rows else tallied)
        except BaseException:
            # a plan that failed half-way (max_delete refused, listing failed...) must not leave
            # half a plan pending; done rows of a resumed plan stay
            close = getattr(actions, "close", None)
            if close is not None:
                close()  # a planner with a listing page in flight stops it now
            with db.lock:
                db.conn.execute("DELETE FROM actions WHERE job = ? AND status != 'done'", (job,))
                db.commit()
            raise
        with db.lock:
            # rows kept from an earlier plan that this plan no longer contains
            db.conn.execute("DELETE FROM actions WHERE job = ? AND gen != ?", (job, gen))
            db.conn.executemany("INSERT INTO tallies (job, op, count, bytes) VALUES (?, ?, ?, ?)",
                                [(job, op, counts[op][2], counts[op][3]) for op in sorted(tallied)])
            db.commit()
        return {op: OpCount(c[0], c[1]) for op, c in counts.items()}

    def clear_job(self, job: str) -> None:
        """Forget a job's planned actions (it is skipped this run)."""
        with self._db.lock:
            self._db.conn.execute("DELETE FROM actions WHERE job = ?", (job,))
            self._db.conn.execute("DELETE FROM tallies WHERE job = ?", (job,))
            self._db.commit()

    def iter_actions(self, job: str | None = None) -> Iterator[Action]:
        """Every stored action (of ``job``), in plan order, read in pages."""
        last = 0
        while True:
            with self._db.lock:
                rows: list[_ActionRow]
                if job is None:
                    rows = self._db.conn.execute(
                        f"SELECT {_COLS} FROM actions WHERE seq > ? ORDER BY seq LIMIT ?", (last, PAGE)).fetchall()
                else:
                    rows = self._db.conn.execute(
                        f"SELECT {_COLS} FROM actions WHERE job = ? AND seq > ? ORDER BY seq LIMIT ?",
                        (job, last, PAGE)).fetchall()
            if not rows:
                return
            for row in rows:
                yield _row_action(row)
            last = rows[-1][0]

    def pending_page(self, job: str, phase: int, after_seq: int, limit: int = PAGE) -> list[tuple[int, Action]]:
        """Up to ``limit`` pending actions of (job, phase) after ``after_seq``, with their seq."""
        with self._db.lock:
            rows: list[_ActionRow] = self._db.conn.execute(
                f"SELECT {_COLS} FROM actions WHERE job = ? AND phase = ? AND status = 'pending' AND seq > ? "
                "ORDER BY seq LIMIT ?",
                (job, phase, after_seq, limit),
            ).fetchall()
        return [(row[0], _row_action(row)) for row in rows]

    def record(self, outcome: Outcome, *, run_id: str, attempts: int) -> None:
        """Store an action's outcome (grouped commit: the caller counts the write)."""
        with self._db.lock:
            self._db.conn.execute(
                "UPDATE actions SET status = ?, attempts = attempts + ?, bytes = bytes + ?, code = ?, "
                "reqid = ?, error = ?, result = ?, run_id = ? WHERE id = ?",
                (outcome.status, attempts, outcome.bytes, outcome.code, outcome.reqid,
                 redact_text(outcome.message) if outcome.message else "",  # e.g. a URL with a password
                 json.dumps(dict(outcome.result)), run_id, outcome.action_id),
            )

    def skip_pending(self, job: str, phase: int | None, message: str) -> int:
        """Mark every pending action of the job (phase) skipped with a reason; returns how many."""
        with self._db.lock:
            if phase is None:
                cur = self._db.conn.execute(
                    "UPDATE actions SET status = 'skipped', error = ? WHERE job = ? AND status = 'pending'",
                    (message, job))
            else:
                cur = self._db.conn.execute(
                    "UPDATE actions SET status = 'skipped', error = ? WHERE job = ? AND phase = ? "
                    "AND status = 'pending'", (message, job, phase))
            self._db.commit()
            return cur.rowcount

    # -- queries for report / status --------------------------------------------------------

    def counts(self, job: str | None = None) -> Counts:
        """See :meth:`kodo_jobs.executor.checkpoint.Checkpoint.counts`."""
        out: Counts = {}
        with self._db.lock:
            sql = "SELECT job, op, status, count(*), sum(size), sum(bytes) FROM actions"
            args: tuple[str, ...] = ()
            if job is not None:
                sql += " WHERE job = ?"
                args = (job,)
            rows: list[_CountRow] = self._db.conn.execute(sql + " GROUP BY job, op, status", args).fetchall()
            if "tallies" in self._db.tables:
                tally_sql = "SELECT job, op, 'skipped', count, bytes, 0 FROM tallies"
                rows += self._db.conn.execute(
                    tally_sql + (" WHERE job = ?" if job is not None else ""), args).fetchall()
        for j, op, status, n, size, sent in rows:
            d = out.setdefault(j, {}).setdefault(op, {"bytes": 0, "sent": 0})
            d[status] = d.get(status, 0) + n
            d["bytes"] += size or 0
            d["sent"] += sent or 0
        return out

    def failures(self, job: str, limit: int = 100) -> tuple[list[Failure], int]:
        """Up to ``limit`` failed actions of ``job`` and the total number of failures."""
        with self._db.lock:
            total = int(self._db.conn.execute(
                "SELECT count(*) FROM actions WHERE job = ? AND status = 'failed'", (job,)).fetchone()[0])
            rows: list[tuple[str, str, str, int | None, str, str]] = self._db.conn.execute(
                "SELECT job, op, key, code, reqid, error FROM actions WHERE job = ? AND status = 'failed' "
                "ORDER BY seq LIMIT ?", (job, limit)).fetchall()
        return [Failure(*r) for r in rows], total

    def failed_count(self, job: str, phase: int | None = None) -> int:
        """Failed actions of the job (in ``phase``)."""
        with self._db.lock:
            if phase is None:
                return int(self._db.conn.execute(
                    "SELECT count(*) FROM actions WHERE job = ? AND status = 'failed'", (job,)).fetchone()[0])
            return int(self._db.conn.execute(
                "SELECT count(*) FROM actions WHERE job = ? AND phase = ? AND status = 'failed'",
                (job, phase)).fetchone()[0])

    def pending_count(self, job: str | None = None) -> int:
        """Actions still pending (of ``job``)."""
        with self._db.lock:
            if job is None:
                return int(self._db.conn.execute(
                    "SELECT count(*) FROM actions WHERE status = 'pending'").fetchone()[0])
            return int(self._db.conn.execute(
                "SELECT count(*) FROM actions WHERE job = ? AND status = 'pending'", (job,)).fetchone()[0])

    def jobs(self) -> list[str]:
        """Jobs that have planned actions, in plan order."""
        with self._db.lock:
            rows: list[tuple[str, int]] = self._db.conn.execute(
                "SELECT job, min(seq) AS s FROM actions GROUP BY job ORDER BY s").fetchall()
        return [r[0] for r in rows]


def _store_rows(job: str, actions: Iterable[Action], gen: str, batch: list[_InsertRow],
                counts: dict[str, list[int]], write: Callable[..., None], tallied: set[str] | None) -> None:
    """Rows into ``batch`` (written and committed every :data:`PLAN_TXN`; the rest written
    uncommitted at the end, for the caller's last commit); ``counts[op]`` = [count, bytes,
    tallied count, tallied bytes]; with ``tallied`` (a set to fill), ``same``/``skip`` actions
    are counted there instead of becoming rows."""
    dumps = json.dumps
    for a in actions:
        op = a.op
        if a.job != job:
            raise ValueError(f"action {a.id!r} planned under job {job!r}")
        c = counts.get(op)
        if c is None:
            c = counts[op] = [0, 0, 0, 0]
        c[0] += 1
        c[1] += a.size
        if op in NO_CHANGE_OPS:
            if tallied is not None:
                tallied.add(op)
                c[2] += 1
                c[3] += a.size
                continue
            status, error = "skipped", ""
        elif op == ERROR_OP:
            status, error = "failed", str(a.params.get("message", "planning error"))
        else:
            status, error = "pending", ""
        batch.append((a.id, job, op, a.key, a.size, a.phase, dumps(dict(a.params)), status, error, gen))
        if len(batch) >= PLAN_TXN:
            write()
    write(last=True)
