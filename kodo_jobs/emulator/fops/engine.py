"""The pfop job engine: jobs persisted in SQLite, advanced by a background worker.

What is real is the job lifecycle a client observes: a job is persisted, moves waiting (1) ->
processing (2) -> done (0) / failed (3) (or 4 when the notifyURL could not be told), ``saveas``
writes a real object through the emulator's store, and ``notifyURL`` receives the prefop JSON
by POST. What each fop produces is simulated (:mod:`.commands`). The engine reaches objects
only through the small :class:`ObjectAccess` protocol, so it does not depend on the store.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kodo_jobs.emulator.db import connect_wal, write_tx
from kodo_jobs.emulator.fops.commands import (
    INFO_FOPS,
    Content,
    FopError,
    FopSpec,
    command_of,
    default_output_key,
    info_result,
    input_problem,
    parse_fops,
    run_stage,
)
from kodo_jobs.emulator.jsontypes import JsonObject
from kodo_jobs.emulator.worker import Worker

log = logging.getLogger("kodo_jobs.emulator.fops")

WAITING, PROCESSING, DONE, FAILED, NOTIFY_FAILED = 1, 2, 0, 3, 4
DESCRIPTIONS = {
    DONE: "The fop was completed successfully",
    WAITING: "The fop is waiting for execution",
    PROCESSING: "The fop is executing now",
    FAILED: "The fop is failed",
    NOTIFY_FAILED: "Callback failed",
}

@dataclass(frozen=True, slots=True)
class StoredObject:
    """A stored object as the engine sees it: its content descriptor and Kodo hash."""

    content: Content
    hash: str


class ObjectAccess(Protocol):
    """The slice of the emulator's store that fops use (an adapter wraps the real store)."""

    def read_object(self, bucket: str, key: str) -> StoredObject | None: ...

    def write_object(
        self, bucket: str, key: str, data: bytes, mime: str, delete_after_days: int | None
    ) -> str: ...

    def bucket_exists(self, bucket: str) -> bool: ...


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


_SCHEMA = """
CREATE TABLE IF NOT EXISTS fop_jobs (
    id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, fops TEXT NOT NULL,
    pipeline TEXT NOT NULL, notify_url TEXT, force INTEGER NOT NULL, type INTEGER NOT NULL,
    code INTEGER NOT NULL, created REAL NOT NULL, changed REAL NOT NULL,
    creation_date TEXT NOT NULL, reqid TEXT NOT NULL, items TEXT NOT NULL
)
"""

JobRow = tuple[str, str, str, str, str, str | None, int, int, int, float, float, str, str, str]
"""One ``fop_jobs`` row: id, bucket, key, fops, pipeline, notify_url, force, type, code, created,
changed, creation_date, reqid, items (the prefop ``items`` as JSON text)."""
_CLAIMED = 1e18  # `changed` value of a job that a thread is running right now

Notifier = Callable[[str, bytes], bool]
"""POSTs a JSON body to a URL; returns True on a 2xx answer (see `remote.post_json`)."""


class FopEngine:
    """pfop jobs in SQLite, advanced by a background worker (and lazily on every query).

    A job waits `step_seconds`, then processes for `step_seconds`, then is run in one go.
    """

    def __init__(
        self,
        db_path: Path,
        objects: ObjectAccess,
        notifier: Notifier,
        *,
        step_seconds: float = 0.05,
        region: str = "z0",
    ) -> None:
        self._db_path = db_path
        self._objects = objects
        self._notify = notifier
        self.step_seconds = step_seconds
        self._region = region
        self._lock = threading.RLock()
        self._conn = connect_wal(db_path)
        self._conn.execute(_SCHEMA)
        # A job claimed by a worker that died with the process runs again after a restart.
        self._conn.execute("UPDATE fop_jobs SET changed=0 WHERE changed>=?", (_CLAIMED,))
        self._worker = Worker("kodo-emulator-fops", self._loop)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the background worker (idempotent)."""
        self._worker.start()

    def stop(self) -> None:
        """Stop the worker and close the database; unfinished jobs resume on the next start."""
        self._worker.stop()
        with self._lock:
            self._conn.close()

    def _loop(self) -> None:
        while not self._worker.stopping.is_set():
            try:
                busy = self._has_active()
                if busy:
                    self.advance()
            except sqlite3.ProgrammingError:
                return  # closed under us during shutdown
            except Exception:  # keep the worker alive; status queries still advance jobs
                log.exception("pfop worker: advancing jobs failed")
                busy = True
            # Idle: sleep until a submit wakes us (no polling writes on a shared machine).
            self._worker.idle((self.step_seconds / 2 or 0.01) if busy else 5.0)

    def _has_active(self) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM fop_jobs WHERE code IN (?, ?) LIMIT 1", (WAITING, PROCESSING)
            ).fetchone()
        return row is not None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with write_tx(self._conn, self._lock) as conn:
            yield conn

    # -- API used by the handlers -------------------------------------------------------------
    def submit(
        self,
        bucket: str,
        key: str,
        fops: str,
        *,
        pipeline: str | None = None,
        notify_url: str | None = None,
        force: bool = False,
        persistent_type: int = 0,
        reqid: str = "",
        strict: bool = True,
    ) -> str:
        """Queue a job and return its persistentId.

        strict (`/pfop`): FopError for malformed fops, a missing source or saveas bucket.
        Not strict (persistentOps of an upload that is already stored): the job is queued
        anyway and those problems fail it, visible in prefop and notifyURL.
        """
        try:
            specs = parse_fops(fops)
            if not self._objects.bucket_exists(bucket):
                raise FopError(631, "no such bucket")
            if strict and self._objects.read_object(bucket, key) is None:
                raise FopError(612, "no such file or directory")
            for spec in specs:
                if spec.save_bucket is not None and not self._objects.bucket_exists(spec.save_bucket):
                    raise FopError(631, f"no such bucket: {spec.save_bucket}")
        except FopError:
            if strict:
                raise
            specs = [FopSpec(fops, (fops,))]
        job_id = f"{self._region}.{uuid.uuid4().hex}"
        items = [{"cmd": s.cmd, "code": WAITING, "desc": DESCRIPTIONS[WAITING], "returnOld": 0} for s in specs]
        now = time.time()
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO fop_jobs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (job_id, bucket, key, fops, pipeline or "0.default", notify_url, int(force),
                 int(persistent_type), WAITING, now, now, _now_iso(), reqid, json.dumps(items)),
            )
        self._worker.wake_up()
        return job_id

    def status(self, job_id: str) -> JsonObject | None:
        """The prefop JSON for a job, or None if the id is unknown."""
        self.advance()
        with self._lock:
            row = self._conn.execute("SELECT * FROM fop_jobs WHERE id=?", (job_id,)).fetchone()
        return None if row is None else self._render(row)

    def _render(self, row: JobRow) -> JsonObject:
        (job_id, bucket, key, _fops, pipeline, _notify, _force, ptype, code, _c, _ch,
         creation_date, reqid, items) = row
        return {
            "id": job_id, "code": code, "desc": DESCRIPTIONS[code], "inputKey": key,
            "inputBucket": bucket, "pipeline": pipeline, "reqid": reqid, "type": ptype,
            "creationDate": creation_date, "taskFrom": "api", "items": json.loads(items),
        }

    # -- the state machine --------------------------------------------------------------------
    def advance(self) -> None:
        """Move every job whose time has come one state further (and run due jobs)."""
        now = time.time()
        due: list[JobRow] = []
        with self._tx() as conn:
            conn.execute(
                "UPDATE fop_jobs SET code=?, changed=? WHERE code=? AND changed<=?",
                (PROCESSING, now, WAITING, now - self.step_seconds),
            )
            due = conn.execute(
                "SELECT * FROM fop_jobs WHERE code=? AND changed<=?",
                (PROCESSING, now - self.step_seconds),
            ).fetchall()
            # Claim them so that the worker and a concurrent status query never both run one.
            conn.executemany("UPDATE fop_jobs SET changed=? WHERE id=?",
                             [(_CLAIMED, row[0]) for row in due])
        for row in due:
            try:
                self._finish(row)
            except Exception as exc:  # an emulator bug must not leave the job claimed forever
                log.exception("pfop %s crashed", row[0])
                failed = [{"cmd": row[3], "code": FAILED, "desc": DESCRIPTIONS[FAILED],
                           "error": f"emulator error: {exc}", "returnOld": 0}]
                with self._tx() as conn:
                    conn.execute("UPDATE fop_jobs SET code=?, items=?, changed=? WHERE id=? AND code=?",
                                 (FAILED, json.dumps(failed), time.time(), row[0], PROCESSING))

    def _finish(self, row: JobRow) -> None:
        job_id, bucket, key, fops, _p, notify_url, force = row[:7]
        try:
            items = [self._run_one(spec, bucket, key, bool(force)) for spec in parse_fops(fops)]
        except FopError as exc:
            items = [{"cmd": fops, "code": FAILED, "desc": DESCRIPTIONS[FAILED], "error": exc.message,
                      "returnOld": 0}]
        code = FAILED if any(item["code"] != DONE for item in items) else DONE
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE fop_jobs SET code=?, items=?, changed=? WHERE id=? AND code=?",
                (code, json.dumps(items), time.time(), job_id, PROCESSING),
            )
            finished_here = cur.rowcount == 1
        if finished_here and notify_url:
            body = self.status_nolock(job_id)
            if body is not None and not self._notify(notify_url, json.dumps(body).encode()):
                with self._tx() as conn:
                    conn.execute("UPDATE fop_jobs SET code=? WHERE id=? AND code=?",
                                 (NOTIFY_FAILED, job_id, DONE))

    def status_nolock(self, job_id: str) -> JsonObject | None:
        """The prefop JSON without advancing (used while finishing a job)."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM fop_jobs WHERE id=?", (job_id,)).fetchone()
        return None if row is None else self._render(row)

    def _run_one(self, spec: FopSpec, bucket: str, key: str, force: bool) -> JsonObject:
        item: JsonObject = {"cmd": spec.cmd, "returnOld": 0}
        source = self._objects.read_object(bucket, key)
        if source is None:
            return {**item, "code": FAILED, "desc": DESCRIPTIONS[FAILED],
                    "error": "source file no longer exists", "errorIndex": 0}
        content, data = source.content, b""
        for index, stage in enumerate(spec.stages):
            name = command_of(stage)
            problem = input_problem(name, content)
            if problem is not None:  # nothing is saved for a failed item
                return {**item, "code": FAILED, "desc": DESCRIPTIONS[FAILED], "error": problem,
                        "errorIndex": index}
            if name in INFO_FOPS and index == len(spec.stages) - 1:
                result = info_result(name, content)
                return {**item, "code": DONE, "desc": DESCRIPTIONS[DONE], "result": result}
            try:
                data, mime = run_stage(stage, content)
                content = Content.of(data, mime)
            except ValueError as exc:
                return {**item, "code": FAILED, "desc": DESCRIPTIONS[FAILED],
                        "error": str(exc), "errorIndex": index}
        out_bucket = spec.save_bucket or bucket
        out_key = spec.save_key or default_output_key(key, spec, source.hash)
        existing = self._objects.read_object(out_bucket, out_key)
        if existing is not None and not force:
            # Kodo keeps the old result when the target exists and force was not asked for.
            return {**item, "code": DONE, "desc": DESCRIPTIONS[DONE], "key": out_key,
                    "hash": existing.hash, "returnOld": 1}
        try:
            digest = self._objects.write_object(out_bucket, out_key, data, content.mime, spec.delete_after_days)
        except Exception as exc:  # e.g. the saveas bucket vanished: fail the item, not the worker
            return {**item, "code": FAILED, "desc": DESCRIPTIONS[FAILED],
                    "error": f"cannot save {out_bucket}:{out_key}: {exc}", "errorIndex": len(spec.stages)}
        return {**item, "code": DONE, "desc": DESCRIPTIONS[DONE], "key": out_key, "hash": digest}
