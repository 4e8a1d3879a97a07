"""The :class:`Checkpoint`: one state file, one class, every table behind it.

The tables live in their own modules (each owns its SQL); this class composes them over one
:class:`~.database.Database` so callers keep a single object with one lock and one commit
discipline, and the methods keep the names the runner, the commands and the jobs' StateView
already use. Nothing secret is ever stored here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path

from kodo_jobs.actions import Action, OpCount, Outcome
from kodo_jobs.executor.checkpoint import schema
from kodo_jobs.executor.checkpoint.actions import PAGE, Actions, Counts, Failure
from kodo_jobs.executor.checkpoint.database import Database
from kodo_jobs.executor.checkpoint.hash_cache import HashCache
from kodo_jobs.executor.checkpoint.kv import KeyValues
from kodo_jobs.executor.checkpoint.runs import RunRecord, Runs, Summary
from kodo_jobs.executor.checkpoint.uploads import Uploads


class Checkpoint:
    """The state file. Thread-safe; implements :class:`kodo_jobs.jobs.base.StateView`.

    ``clock`` (seconds since the epoch) stamps runs and upload sessions and drives the run
    retention (:mod:`.runs`); tests inject one to fast-forward a year of runs.
    """

    def __init__(self, path: Path, *, create: bool = True, readonly: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._database = Database(path, schema.DDL, create=create, readonly=readonly)
        self._db = self._database.conn
        """The connection (tests read PRAGMAs and raw rows through it)."""
        self._runs = Runs(self._database, clock)
        self._actions = Actions(self._database)
        self._uploads = Uploads(self._database, clock)
        self._hashes = HashCache(self._database)
        self._kv = KeyValues(self._database)

    def close(self) -> None:
        """Commit and close."""
        self._database.close()

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def flush(self, *, force: bool = True) -> None:
        """Commit grouped writes (always when ``force``; else every 200 writes or 0.5 s)."""
        self._database.flush(force=force)

    # -- runs ------------------------------------------------------------------------------

    def begin_run(self, run_id: str, manifest_sha: str, jobs: Iterable[str], *, dry_run: bool) -> None:
        """Record the start of a run (a cron job runs 50k times a year: history is bounded)."""
        self._runs.begin(run_id, manifest_sha, jobs, dry_run=dry_run)

    def end_run(self, run_id: str, status: str, summary: Summary) -> None:
        """Record how a run ended, with its report summary (JSON, no secrets), then compact:
        old summaries are dropped (see :mod:`.runs`) and a mostly empty file is rewritten
        (:meth:`~.database.Database.vacuum_if_sparse`)."""
        self._runs.end(run_id, status, summary)
        self._database.vacuum_if_sparse()

    def last_run(self, *, include_dry: bool = False) -> RunRecord | None:
        """The most recent run (real runs only unless ``include_dry``)."""
        return self._runs.last(include_dry=include_dry)

    def unfinished_runs(self, manifest_sha: str) -> list[str]:
        """Ids of the latest runs of this manifest that did not end ``ok`` (newest first).

        The streak stops at the first run that ended ok or ran another manifest version, so a
        rerun resumes exactly the work those runs left, never older history.
        """
        return self._runs.unfinished(manifest_sha)

    # -- plan ------------------------------------------------------------------------------

    def store_plan(self, job: str, actions: Iterable[Action], gen: str, *,
                   keep_done_of: Collection[str] = (), unchanged_rows: bool = True) -> dict[str, OpCount]:
        """Stream one job's plan into ``actions``, in transactions of :data:`~.actions.PLAN_TXN`.

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
        return self._actions.store_plan(job, actions, gen, keep_done_of=keep_done_of,
                                        unchanged_rows=unchanged_rows)

    def clear_job(self, job: str) -> None:
        """Forget a job's planned actions (it is skipped this run)."""
        self._actions.clear_job(job)

    def iter_actions(self, job: str | None = None) -> Iterator[Action]:
        """Every stored action (of ``job``), in plan order, read in pages."""
        return self._actions.iter_actions(job)

    def pending_page(self, job: str, phase: int, after_seq: int, limit: int = PAGE) -> list[tuple[int, Action]]:
        """Up to ``limit`` pending actions of (job, phase) after ``after_seq``, with their seq."""
        return self._actions.pending_page(job, phase, after_seq, limit)

    def record(self, outcome: Outcome, *, run_id: str, attempts: int) -> None:
        """Store an action's outcome (grouped commit; ``flush`` makes it durable)."""
        self._actions.record(outcome, run_id=run_id, attempts=attempts)
        self._database.wrote()

    def skip_pending(self, job: str, phase: int | None, message: str) -> int:
        """Mark every pending action of the job (phase) skipped with a reason; returns how many."""
        return self._actions.skip_pending(job, phase, message)

    # -- queries for report / status --------------------------------------------------------

    def counts(self, job: str | None = None) -> Counts:
        """``{job: {op: {status: count, "bytes": planned bytes, "sent": bytes sent}}}``.

        Tallied ``same``/``skip`` actions (see :meth:`store_plan`) count as ``skipped`` rows.
        """
        return self._actions.counts(job)

    def failures(self, job: str, limit: int = 100) -> tuple[list[Failure], int]:
        """Up to ``limit`` failed actions of ``job`` and the total number of failures."""
        return self._actions.failures(job, limit)

    def failed_count(self, job: str, phase: int | None = None) -> int:
        """Failed actions of the job (in ``phase``)."""
        return self._actions.failed_count(job, phase)

    def pending_count(self, job: str | None = None) -> int:
        """Actions still pending (of ``job``)."""
        return self._actions.pending_count(job)

    def jobs(self) -> list[str]:
        """Jobs that have planned actions, in plan order."""
        return self._actions.jobs()

    def uploads(self) -> list[tuple[str, str, float]]:
        """Saved upload sessions: (action id, state JSON, last update time)."""
        return self._uploads.all()

    def size_info(self) -> schema.SizeInfo:
        """The file's size and the row counts of its big tables (``status`` shows them)."""
        return schema.size_info(self._database)

    def integrity_ok(self) -> bool:
        """``PRAGMA integrity_check`` says ok (tests, status)."""
        with self._database.lock:
            return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")

    # -- StateView ---------------------------------------------------------------------------

    def etag_for(self, path: str, size: int, mtime_ns: int) -> str | None:
        """The cached etag of ``path`` if size and mtime_ns still match."""
        return self._hashes.etag_for(path, size, mtime_ns)

    def remember_etag(self, path: str, size: int, mtime_ns: int, etag: str) -> None:
        """Cache an etag (grouped commit)."""
        self._hashes.remember(path, size, mtime_ns, etag)
        self._database.wrote()

    def prune_hash_cache(self, under: str, walked: Iterable[str], walked_count: int,
                         covers: Callable[[str], bool] | None = None) -> int:
        """After a full walk of the folder ``under``: drop cached etags of files the walk did
        not see (``walked``, ``walked_count`` of them); returns rows dropped. Cheap when
        nothing is stale (see :mod:`.hash_cache`). Committed before returning."""
        return self._hashes.prune(under, walked, walked_count, covers)

    def load_upload(self, action_id: str) -> str | None:
        """The saved upload session of an action."""
        return self._uploads.load(action_id)

    def save_upload(self, action_id: str, state_json: str) -> None:
        """Store an upload session durably (committed before returning)."""
        self._uploads.save(action_id, state_json)

    def drop_upload(self, action_id: str) -> None:
        """Forget an upload session (committed before returning, when there was one)."""
        self._uploads.drop(action_id)

    def drop_orphan_uploads(self, job: str) -> int:
        """Forget upload sessions of ``job`` that no pending action can resume; returns how many
        (after a job ended ok: see :meth:`.uploads.Uploads.drop_orphans`)."""
        return self._uploads.drop_orphans(job)

    def get_value(self, key: str) -> str | None:
        """A value a job kind stored under ``key`` (e.g. pfop persistent ids), if any."""
        return self._kv.get(key)

    def set_value(self, key: str, value: str | None) -> None:
        """Durably store (or, with None, forget) a job kind's value (committed before returning)."""
        self._kv.set(key, value)
