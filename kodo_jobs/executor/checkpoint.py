"""The checkpoint: one SQLite file (WAL, mode 0600) per manifest.

Tables: ``meta`` (format marker + schema version: anything else is a foreign or corrupt file
and raises :class:`StateFileError`, never silently replaced), ``runs``, ``actions`` (the
current plan of each job with per-action status), ``uploads`` (action id -> the client's
serialised upload session), ``hash_cache`` ((path, size, mtime_ns) -> etag) and ``tallies``
(per job, how many ``same``/``skip`` actions a run planned without storing a row for each:
see :meth:`Checkpoint.store_plan`; added to schema 1 without a version change, since a file
without it simply has no tallies).

Concurrency: one connection shared by the threads of one process behind a lock. Outcomes and
hash-cache rows are committed in groups (:meth:`Checkpoint.flush`); upload sessions are
committed at once, because a part must be recorded before it is counted. WAL with
``synchronous=NORMAL`` survives a killed process (only a power loss may drop the last
transactions, which a rerun redoes). Nothing secret is ever stored here.

Damage: every open of an existing file runs ``PRAGMA quick_check`` (the b-tree structure of
every page; cheaper than ``integrity_check``, which also cross-checks index contents;
figures: docs/bench.md) and refuses a damaged file with :class:`StateFileError` (exit 2)
naming it, leaving it untouched. Damage that only shows later (a page the check cannot judge,
or the file changed under a run) surfaces as ``sqlite3.DatabaseError`` wherever it is read;
the commands wrap their whole work in :func:`state_file_errors`, which turns it into the same
exit 2 naming the file. An empty (0-byte) file is a state file with no history, exactly like
a missing one: a crash between creating the file and SQLite's first write leaves one, and
refusing it would only block the next run; ``run``/``plan`` initialise it in place.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kodo_jobs.actions import ERROR_OP, NO_CHANGE_OPS, Action, OpCount, Outcome
from kodo_jobs.errors import StateFileError
from kodo_jobs.executor.etag_pages import EtagPages
from kodo_jobs.log import redact_text

FORMAT = "kodo-jobs-state"
SCHEMA_VERSION = 1
PLAN_TXN = 2000
"""Actions inserted per transaction while a plan streams in."""
KEEP_RUNS = 200
"""Rows of ``runs`` kept (older ones are deleted when a run starts)."""
PAGE = 500
"""Pending actions read per page by the runner."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, seq INTEGER NOT NULL, manifest_sha TEXT NOT NULL, jobs TEXT NOT NULL,
  started REAL NOT NULL, ended REAL, status TEXT NOT NULL, dry_run INTEGER NOT NULL DEFAULT 0,
  summary TEXT
);
CREATE TABLE IF NOT EXISTS actions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, job TEXT NOT NULL,
  op TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, phase INTEGER NOT NULL,
  params TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0, code INTEGER, reqid TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '', result TEXT NOT NULL DEFAULT '{}', gen TEXT NOT NULL,
  run_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS actions_job ON actions (job, phase, status, seq);
CREATE TABLE IF NOT EXISTS uploads (action_id TEXT PRIMARY KEY, state TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS hash_cache (
  path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, etag TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tallies (
  job TEXT NOT NULL, op TEXT NOT NULL, count INTEGER NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (job, op)
);
"""

_COLS = "seq, job, op, key, size, phase, params"


def damaged(path: Path, detail: object) -> StateFileError:
    """The error for a state file SQLite cannot read back: exit 2, the file named and kept."""
    return StateFileError(
        f"state file {path} is damaged ({detail}); it was left untouched: move it away (or pass "
        "--state PATH) to start afresh - finished work is found again by the next plan")


@contextlib.contextmanager
def state_file_errors(path: Path) -> Iterator[None]:
    """Turn any ``sqlite3.DatabaseError`` raised inside into a :class:`StateFileError` naming
    ``path`` (exit 2): :func:`damaged` for a malformed file, and for an operational failure
    (disk full, I/O error, locked past the busy timeout) a message saying so."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise StateFileError(
            f"cannot use state file {path} ({exc}): check free space and permissions, and that no other "
            "program holds it open") from exc
    except sqlite3.DatabaseError as exc:
        raise damaged(path, f"{type(exc).__name__}: {exc}") from exc


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
    summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed action, as the report shows it."""

    job: str
    op: str
    key: str
    code: int | None
    reqid: str
    message: str


def _row_action(row: tuple[Any, ...]) -> Action:
    _seq, job, op, key, size, phase, params = row
    return Action(job=job, op=op, key=key, size=size, phase=phase, params=json.loads(params))


class Checkpoint:
    """The state file. Thread-safe; implements :class:`kodo_jobs.jobs.base.StateView`."""

    def __init__(self, path: Path, *, create: bool = True, readonly: bool = False) -> None:
        self.path = path
        self._lock = threading.RLock()
        existed = path.exists()
        self._has_tallies = True
        """False for a read-only view of a file written before the table existed."""
        if not existed and not create:
            raise StateFileError(f"no state file at {path}: nothing has run yet")
        if existed:
            self._check_header(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            # create it 0600 before SQLite opens it: the file may hold paths and keys
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        try:
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None,
                                       timeout=30)
        except sqlite3.DatabaseError as exc:
            raise StateFileError(f"cannot open state file {path}: {exc}") from exc
        try:
            self._db.execute("PRAGMA busy_timeout = 30000")
            # judge an existing file before writing anything to it: a foreign file stays untouched
            fresh = self._check_existing() if existed else True
            if not fresh:
                self._check_pages()
            if not readonly:
                self._has_tallies = True  # created below when missing
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
                self._db.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
                if fresh:
                    self._db.executescript(
                        f"BEGIN; INSERT OR REPLACE INTO meta (k, v) VALUES ('format', '{FORMAT}'), "
                        f"('schema', '{SCHEMA_VERSION}'); COMMIT;")
            elif fresh:
                raise StateFileError(f"{path} is empty: nothing has run yet")
            self._db.execute("BEGIN")
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise damaged(path, exc) from exc
        except StateFileError:
            self._db.close()
            raise
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.chmod(f"{path}{suffix}", 0o600)
        self._pending_writes = 0
        self._last_commit = time.monotonic()
        self._etags = EtagPages(self._db)

    # -- opening ---------------------------------------------------------------------------

    @staticmethod
    def _check_header(path: Path) -> None:
        try:
            with path.open("rb") as f:
                head = f.read(16)
        except OSError as exc:
            raise StateFileError(f"cannot read state file {path}: {exc}") from exc
        if head and head != b"SQLite format 3\x00":
            raise StateFileError(
                f"{path} is not a kodo-jobs state file (not SQLite); it was left untouched: "
                "move it away or pass --state PATH"
            )

    def _check_pages(self) -> None:
        """``PRAGMA quick_check``: refuse a file whose pages SQLite finds damaged."""
        rows = self._db.execute("PRAGMA quick_check(5)").fetchall()
        problems = [str(r[0]) for r in rows]
        if problems != ["ok"]:
            raise damaged(self.path, "; ".join(problems))

    def _check_existing(self) -> bool:
        """Read-only checks of an existing file; True when it is an empty database (never used)."""
        names = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master").fetchall()}
        self._has_tallies = "tallies" in names
        if not names:
            return True
        if "meta" not in names:
            raise StateFileError(
                f"{self.path} is not a kodo-jobs state file (an SQLite database of something else); "
                "it was left untouched: move it away or pass --state PATH")
        rows = dict(self._db.execute("SELECT k, v FROM meta").fetchall())
        if rows.get("format") != FORMAT:
            raise StateFileError(
                f"{self.path} is not a kodo-jobs state file (format {rows.get('format')!r}); "
                "it was left untouched: move it away or pass --state PATH")
        if rows.get("schema") != str(SCHEMA_VERSION):
            raise StateFileError(
                f"{self.path} has state schema {rows.get('schema')}, this kodo-jobs reads {SCHEMA_VERSION}: "
                "use the matching kodo-jobs version or move the file away"
            )
        return False

    def close(self) -> None:
        """Commit and close."""
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                if self._db.in_transaction:
                    self._db.execute("COMMIT")
            self._db.close()

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _commit(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")
        self._db.execute("BEGIN")
        self._pending_writes = 0
        self._last_commit = time.monotonic()

    def flush(self, *, force: bool = True) -> None:
        """Commit grouped writes (always when ``force``; else every 200 writes or 0.5 s)."""
        with self._lock:
            if force or self._pending_writes >= 200 or time.monotonic() - self._last_commit > 0.5:
                self._commit()

    # -- runs ------------------------------------------------------------------------------

    def begin_run(self, run_id: str, manifest_sha: str, jobs: Iterable[str], *, dry_run: bool) -> None:
        """Record the start of a run."""
        with self._lock:
            seq = self._db.execute("SELECT coalesce(max(seq), 0) + 1 FROM runs").fetchone()[0]
            self._db.execute(
                "INSERT INTO runs (id, seq, manifest_sha, jobs, started, status, dry_run) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (run_id, seq, manifest_sha, json.dumps(list(jobs)), time.time(), int(dry_run)),
            )
            # a cron job runs 50k times a year: keep the recent history only
            self._db.execute("DELETE FROM runs WHERE seq <= ?", (seq - KEEP_RUNS,))
            self._commit()

    def end_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        """Record how a run ended, with its report summary (JSON, no secrets)."""
        with self._lock:
            self._db.execute("UPDATE runs SET ended = ?, status = ?, summary = ? WHERE id = ?",
                             (time.time(), status, json.dumps(summary), run_id))
            self._commit()

    def last_run(self, *, include_dry: bool = False) -> RunRecord | None:
        """The most recent run (real runs only unless ``include_dry``)."""
        where = "" if include_dry else "WHERE dry_run = 0"
        with self._lock:
            row = self._db.execute(
                f"SELECT id, manifest_sha, jobs, started, ended, status, dry_run, summary FROM runs {where} "
                "ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        return RunRecord(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4], row[5], bool(row[6]),
                         json.loads(row[7]) if row[7] else {})

    def unfinished_runs(self, manifest_sha: str) -> list[str]:
        """Ids of the latest runs of this manifest that did not end ``ok`` (newest first).

        The streak stops at the first run that ended ok or ran another manifest version, so a
        rerun resumes exactly the work those runs left, never older history.
        """
        out: list[str] = []
        with self._lock:
            rows = self._db.execute(
                "SELECT id, manifest_sha, status FROM runs WHERE dry_run = 0 ORDER BY seq DESC").fetchall()
        for run_id, sha, status in rows:
            if status == "ok" or sha != manifest_sha:
                break
            out.append(run_id)
        return out

    # -- plan ------------------------------------------------------------------------------

    def store_plan(self, job: str, actions: Iterable[Action], gen: str, *,
                   keep_done_of: Collection[str] = (), unchanged_rows: bool = True) -> dict[str, OpCount]:
        """Stream one job's plan into ``actions``, in transactions of :data:`PLAN_TXN`.

        ``keep_done_of``: ids of the unfinished runs this run resumes (see :meth:`unfinished_runs`);
        an action one of them recorded ``done`` stays done and will not run again. Every other
        row of the job is replaced. Returns counts per op. ``same``/``skip`` rows are stored
        ``skipped``, ``error`` rows ``failed``.

        ``unchanged_rows=False`` (a real run): ``same``/``skip`` actions are only counted, into
        ``tallies``, which :meth:`counts` reports as ``skipped`` exactly as if they were rows.
        Nothing executes, resumes or lists them in a run, and on a large no-op resync storing a
        row (and its JSON params) per unchanged file was a large share of the run's CPU
        (figures: docs/bench.md).
        ``plan`` keeps the rows: it lists them (``--all``, ``--json``, ``-o``).
        """
        counts: dict[str, list[int]] = {}
        keep = sorted(set(keep_done_of))
        marks = ",".join("?" * len(keep))
        with self._lock:
            self._db.execute("DELETE FROM tallies WHERE job = ?", (job,))
            if keep:
                self._db.execute(f"DELETE FROM actions WHERE job = ? AND NOT (status = 'done' AND run_id IN ({marks}))",
                                 (job, *keep))
            else:
                self._db.execute("DELETE FROM actions WHERE job = ?", (job,))
            self._commit()
        batch: list[tuple[Any, ...]] = []

        def write() -> None:
            with self._lock:
                self._db.executemany(
                    "INSERT INTO actions (id, job, op, key, size, phase, params, status, error, gen) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET size = excluded.size, phase = excluded.phase, "
                    "params = excluded.params, gen = excluded.gen",
                    batch,
                )
                self._commit()
            batch.clear()

        tallied: set[str] = set()
        try:
            self._store_rows(job, actions, gen, batch, counts, write, None if unchanged_rows else tallied)
        except BaseException:
            # a plan that failed half-way (max_delete refused, listing failed...) must not leave
            # half a plan pending; done rows of a resumed plan stay
            close = getattr(actions, "close", None)
            if close is not None:
                close()  # a planner with a listing page in flight stops it now
            with self._lock:
                self._db.execute("DELETE FROM actions WHERE job = ? AND status != 'done'", (job,))
                self._commit()
            raise
        with self._lock:
            # rows kept from an earlier plan that this plan no longer contains
            self._db.execute("DELETE FROM actions WHERE job = ? AND gen != ?", (job, gen))
            self._db.executemany("INSERT INTO tallies (job, op, count, bytes) VALUES (?, ?, ?, ?)",
                                 [(job, op, counts[op][2], counts[op][3]) for op in sorted(tallied)])
            self._commit()
        return {op: OpCount(c[0], c[1]) for op, c in counts.items()}

    @staticmethod
    def _store_rows(job: str, actions: Iterable[Action], gen: str, batch: list[tuple[Any, ...]],
                    counts: dict[str, list[int]], write: Callable[[], None], tallied: set[str] | None) -> None:
        """Rows into ``batch`` (written every :data:`PLAN_TXN`); ``counts[op]`` = [count, bytes,
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
        write()

    def clear_job(self, job: str) -> None:
        """Forget a job's planned actions (it is skipped this run)."""
        with self._lock:
            self._db.execute("DELETE FROM actions WHERE job = ?", (job,))
            self._db.execute("DELETE FROM tallies WHERE job = ?", (job,))
            self._commit()

    def iter_actions(self, job: str | None = None) -> Iterator[Action]:
        """Every stored action (of ``job``), in plan order, read in pages."""
        last = 0
        while True:
            with self._lock:
                if job is None:
                    rows = self._db.execute(f"SELECT {_COLS} FROM actions WHERE seq > ? ORDER BY seq LIMIT ?",
                                            (last, PAGE)).fetchall()
                else:
                    rows = self._db.execute(
                        f"SELECT {_COLS} FROM actions WHERE job = ? AND seq > ? ORDER BY seq LIMIT ?",
                        (job, last, PAGE)).fetchall()
            if not rows:
                return
            for row in rows:
                yield _row_action(row)
            last = rows[-1][0]

    def pending_page(self, job: str, phase: int, after_seq: int, limit: int = PAGE) -> list[tuple[int, Action]]:
        """Up to ``limit`` pending actions of (job, phase) after ``after_seq``, with their seq."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLS} FROM actions WHERE job = ? AND phase = ? AND status = 'pending' AND seq > ? "
                "ORDER BY seq LIMIT ?",
                (job, phase, after_seq, limit),
            ).fetchall()
        return [(row[0], _row_action(row)) for row in rows]

    def record(self, outcome: Outcome, *, run_id: str, attempts: int) -> None:
        """Store an action's outcome (grouped commit; ``flush`` makes it durable)."""
        with self._lock:
            self._db.execute(
                "UPDATE actions SET status = ?, attempts = attempts + ?, bytes = bytes + ?, code = ?, "
                "reqid = ?, error = ?, result = ?, run_id = ? WHERE id = ?",
                (outcome.status, attempts, outcome.bytes, outcome.code, outcome.reqid,
                 redact_text(outcome.message) if outcome.message else "",  # e.g. a URL with a password
                 json.dumps(dict(outcome.result)), run_id, outcome.action_id),
            )
            self._pending_writes += 1
        self.flush(force=False)

    def skip_pending(self, job: str, phase: int | None, message: str) -> int:
        """Mark every pending action of the job (phase) skipped with a reason; returns how many."""
        with self._lock:
            if phase is None:
                cur = self._db.execute(
                    "UPDATE actions SET status = 'skipped', error = ? WHERE job = ? AND status = 'pending'",
                    (message, job))
            else:
                cur = self._db.execute(
                    "UPDATE actions SET status = 'skipped', error = ? WHERE job = ? AND phase = ? "
                    "AND status = 'pending'", (message, job, phase))
            self._commit()
            return cur.rowcount

    # -- queries for report / status --------------------------------------------------------

    def counts(self, job: str | None = None) -> dict[str, dict[str, dict[str, int]]]:
        """``{job: {op: {status: count, "bytes": planned bytes, "sent": bytes sent}}}``.

        Tallied ``same``/``skip`` actions (see :meth:`store_plan`) count as ``skipped`` rows.
        """
        out: dict[str, dict[str, dict[str, int]]] = {}
        with self._lock:
            sql = "SELECT job, op, status, count(*), sum(size), sum(bytes) FROM actions"
            args: tuple[Any, ...] = ()
            if job is not None:
                sql += " WHERE job = ?"
                args = (job,)
            rows = self._db.execute(sql + " GROUP BY job, op, status", args).fetchall()
            if self._has_tallies:
                tally_sql = "SELECT job, op, 'skipped', count, bytes, 0 FROM tallies"
                rows += self._db.execute(tally_sql + (" WHERE job = ?" if job is not None else ""), args).fetchall()
        for j, op, status, n, size, sent in rows:
            d = out.setdefault(j, {}).setdefault(op, {"bytes": 0, "sent": 0})
            d[status] = d.get(status, 0) + n
            d["bytes"] += size or 0
            d["sent"] += sent or 0
        return out

    def failures(self, job: str, limit: int = 100) -> tuple[list[Failure], int]:
        """Up to ``limit`` failed actions of ``job`` and the total number of failures."""
        with self._lock:
            total = self._db.execute("SELECT count(*) FROM actions WHERE job = ? AND status = 'failed'",
                                     (job,)).fetchone()[0]
            rows = self._db.execute(
                "SELECT job, op, key, code, reqid, error FROM actions WHERE job = ? AND status = 'failed' "
                "ORDER BY seq LIMIT ?", (job, limit)).fetchall()
        return [Failure(*r) for r in rows], total

    def failed_count(self, job: str, phase: int | None = None) -> int:
        """Failed actions of the job (in ``phase``)."""
        with self._lock:
            if phase is None:
                return int(self._db.execute("SELECT count(*) FROM actions WHERE job = ? AND status = 'failed'",
                                            (job,)).fetchone()[0])
            return int(self._db.execute(
                "SELECT count(*) FROM actions WHERE job = ? AND phase = ? AND status = 'failed'",
                (job, phase)).fetchone()[0])

    def pending_count(self, job: str | None = None) -> int:
        """Actions still pending (of ``job``)."""
        with self._lock:
            if job is None:
                return int(self._db.execute("SELECT count(*) FROM actions WHERE status = 'pending'").fetchone()[0])
            return int(self._db.execute("SELECT count(*) FROM actions WHERE job = ? AND status = 'pending'",
                                        (job,)).fetchone()[0])

    def jobs(self) -> list[str]:
        """Jobs that have planned actions, in plan order."""
        with self._lock:
            rows = self._db.execute("SELECT job, min(seq) AS s FROM actions GROUP BY job ORDER BY s").fetchall()
        return [r[0] for r in rows]

    def uploads(self) -> list[tuple[str, str, float]]:
        """Saved upload sessions: (action id, state JSON, last update time)."""
        with self._lock:
            return list(self._db.execute("SELECT action_id, state, updated FROM uploads ORDER BY action_id"))

    # -- StateView ---------------------------------------------------------------------------

    def etag_for(self, path: str, size: int, mtime_ns: int) -> str | None:
        """The cached etag of ``path`` if size and mtime_ns still match."""
        with self._lock:
            row = self._etags.get(path)  # paged: a walk asks in path order (see etag_pages)
        return row[2] if row is not None and row[0] == size and row[1] == mtime_ns else None

    def remember_etag(self, path: str, size: int, mtime_ns: int, etag: str) -> None:
        """Cache an etag (grouped commit)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO hash_cache (path, size, mtime_ns, etag) VALUES (?, ?, ?, ?)",
                             (path, size, mtime_ns, etag))
            self._etags.put(path, size, mtime_ns, etag)
            self._pending_writes += 1
        self.flush(force=False)

    def load_upload(self, action_id: str) -> str | None:
        """The saved upload session of an action."""
        with self._lock:
            row = self._db.execute("SELECT state FROM uploads WHERE action_id = ?", (action_id,)).fetchone()
        return None if row is None else str(row[0])

    def save_upload(self, action_id: str, state_json: str) -> None:
        """Store an upload session durably (committed before returning)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO uploads (action_id, state, updated) VALUES (?, ?, ?)",
                             (action_id, state_json, time.time()))
            self._commit()

    def drop_upload(self, action_id: str) -> None:
        """Forget an upload session (committed before returning, when there was one).

        Most calls find no row (a form upload never saved a session): they cost no commit,
        which would otherwise be one fsync-bound transaction per uploaded file.
        """
        with self._lock:
            cur = self._db.execute("DELETE FROM uploads WHERE action_id = ?", (action_id,))
            if cur.rowcount > 0:
                self._commit()

    def get_value(self, key: str) -> str | None:
        """A value a job kind stored under ``key`` (e.g. pfop persistent ids), if any."""
        with self._lock:
            row = self._db.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_value(self, key: str, value: str | None) -> None:
        """Durably store (or, with None, forget) a job kind's value (committed before returning)."""
        with self._lock:
            if value is None:
                self._db.execute("DELETE FROM kv WHERE k = ?", (key,))
            else:
                self._db.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, value))
            self._commit()

    def drop_orphan_uploads(self, job: str) -> int:
        """Forget upload sessions of ``job`` that no pending action can resume; returns how many.

        Called after a job ended ok: a session left by a file that was deleted or renamed since
        would otherwise be shown by ``status`` forever (Kodo expires the upload itself).
        """
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM uploads WHERE substr(action_id, 1, ?) = ? AND action_id NOT IN "
                "(SELECT id FROM actions WHERE job = ? AND status = 'pending')",
                (len(job) + 1, job + "\x1f", job))
            self._commit()
            return cur.rowcount

    def integrity_ok(self) -> bool:
        """``PRAGMA integrity_check`` says ok (tests, status)."""
        with self._lock:
            return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


class ReadThroughState:
    """StateView for ``plan``: reads and extends the hash cache, never touches upload sessions."""

    def __init__(self, checkpoint: Checkpoint | None) -> None:
        self._cp = checkpoint

    def etag_for(self, path: str, size: int, mtime_ns: int) -> str | None:
        """Cached etag, if there is a state file."""
        return self._cp.etag_for(path, size, mtime_ns) if self._cp else None

    def remember_etag(self, path: str, size: int, mtime_ns: int, etag: str) -> None:
        """Extend the hash cache (the one write a plan may do)."""
        if self._cp:
            self._cp.remember_etag(path, size, mtime_ns, etag)

    def load_upload(self, action_id: str) -> str | None:
        """Upload sessions are visible (read-only)."""
        return self._cp.load_upload(action_id) if self._cp else None

    def get_value(self, key: str) -> str | None:
        """Stored values are visible (read-only)."""
        return self._cp.get_value(key) if self._cp else None

    def set_value(self, key: str, value: str | None) -> None:
        """A plan never stores values."""
        raise RuntimeError("plan is read-only: set_value called while planning")

    def save_upload(self, action_id: str, state_json: str) -> None:
        """A plan never uploads."""
        raise RuntimeError("plan is read-only: save_upload called while planning")

    def drop_upload(self, action_id: str) -> None:
        """A plan never uploads."""
        raise RuntimeError("plan is read-only: drop_upload called while planning")
