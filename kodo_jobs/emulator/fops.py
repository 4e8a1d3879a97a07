"""Simulated persistent data processing (pfop / prefop) for the emulator.

Nothing here decodes media. Each known fop turns its input bytes into a small, deterministic
output (a header naming the fop plus the SHA-1 and size of the input), so tests can check that
the right command ran on the right input without shipping ffmpeg. What *is* real is the job
lifecycle a client observes: a job is persisted in SQLite, moves waiting (1) -> processing (2)
-> done (0) / failed (3) (or 4 when the notifyURL could not be told), `saveas` writes a real
object through the emulator's store, and `notifyURL` receives the prefop JSON by POST.

Layers: `parse_fops` / `run_stage` are pure; `FopEngine` owns the SQLite table and the
background worker and reaches objects only through the small `ObjectAccess` protocol, so the
engine does not depend on the store's internals.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
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
from typing import Any, Protocol

from kodo_jobs.emulator.db import connect_wal, write_tx
from kodo_jobs.emulator.media import MediaKind, kind_of_mime
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

# Commands whose result is a JSON document returned in `result` (never stored as an object).
INFO_FOPS = frozenset({"avinfo", "imageInfo", "exif", "imageAve"})
# Commands that transform their input into a new object, with the MIME type of the output
# (None: keep the source MIME unless the fop names a format).
TRANSFORM_FOPS: dict[str, str | None] = {
    "avthumb": None,
    "vframe": None,
    "imageView2": None,
    "imageMogr2": None,
    "odconv": None,
    "md2html": "text/html",
    "vsample": None,
    "avconcat": None,
}
_FORMAT_MIME = {
    "mp4": "video/mp4", "m3u8": "application/vnd.apple.mpegurl", "flv": "video/x-flv",
    "webm": "video/webm", "mp3": "audio/mpeg", "aac": "audio/aac", "ogg": "audio/ogg",
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
    "gif": "image/gif", "avif": "image/avif", "pdf": "application/pdf", "html": "text/html",
}


class FopError(Exception):
    """A request-level pfop problem; `status` is the HTTP/Kodo status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class FopSpec:
    """One `;`-separated fop: its pipe stages and where its result goes."""

    cmd: str  # the whole text as submitted, echoed back in prefop `items[].cmd`
    stages: tuple[str, ...]
    save_bucket: str | None = None
    save_key: str | None = None
    delete_after_days: int | None = None


@dataclass(frozen=True, slots=True)
class Content:
    """What a simulated fop looks at: the SHA-1 and size of its input (never the bytes, so a
    large video costs one streaming hash, not its size in memory), its MIME type, and the
    kind of media its bytes hold (``media.kind_of``; None: not an image, audio or video)."""

    sha1: str
    size: int
    mime: str
    kind: MediaKind | None = None

    @classmethod
    def of(cls, data: bytes, mime: str) -> Content:
        """The content descriptor of a previous pipe stage's output: a stand-in whose kind is
        the one its MIME type names (a real fop would have produced that media)."""
        return cls(hashlib.sha1(data).hexdigest(), len(data), mime, kind_of_mime(mime))


# The media kinds each decoding fop accepts, and Kodo's error for any other input (prefop
# ``items[].error``; the av text is Kodo's, the image text follows its pattern).
IMAGE_FOPS = frozenset({"imageView2", "imageMogr2", "imageInfo", "exif", "imageAve", "watermark"})
AV_INPUTS: dict[str, frozenset[MediaKind]] = {
    "avthumb": frozenset({"audio", "video"}),
    "avinfo": frozenset({"audio", "video"}),
    "avconcat": frozenset({"audio", "video"}),
    "vframe": frozenset({"video"}),
    "vsample": frozenset({"video"}),
}
NOT_AN_IMAGE = "execute fop cmd failed: not a valid image"
NOT_MEDIA = "execute fop cmd failed: not a valid media"


def input_problem(name: str, source: Content) -> str | None:
    """Kodo's error when fop ``name`` cannot decode ``source``, else None."""
    if name in IMAGE_FOPS and source.kind != "image":
        return NOT_AN_IMAGE
    accepted = AV_INPUTS.get(name)
    if accepted is not None and source.kind not in accepted:
        return NOT_MEDIA
    return None


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


def _b64decode(text: str) -> str:
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode("utf-8")


def parse_fops(fops: str) -> list[FopSpec]:
    """Split a pfop `fops` value into specs; raise FopError(400) on malformed saveas."""
    specs: list[FopSpec] = []
    for raw in fops.split(";"):
        if not raw.strip():
            continue
        stages: list[str] = []
        save_bucket = save_key = None
        days: int | None = None
        for stage in raw.split("|"):
            if stage.startswith("saveas/"):
                parts = stage.split("/")
                try:
                    entry = _b64decode(parts[1])
                except (IndexError, ValueError, binascii.Error, UnicodeDecodeError) as exc:
                    raise FopError(400, f"invalid saveas entry in fop {raw!r}") from exc
                bucket, sep, key = entry.partition(":")
                if not bucket:
                    raise FopError(400, f"saveas in fop {raw!r} names no bucket")
                save_bucket, save_key = bucket, (key if sep else None)
                if len(parts) >= 4 and parts[2] == "deleteAfterDays" and parts[3].isdigit():
                    days = int(parts[3])
            elif stage.strip():
                stages.append(stage)
        if not stages:
            raise FopError(400, f"fop {raw!r} has no command")
        specs.append(FopSpec(raw, tuple(stages), save_bucket, save_key, days))
    if not specs:
        raise FopError(400, "fops is empty")
    return specs


def command_of(stage: str) -> str:
    """The command name of a pipe stage (`imageView2/1/w/100` -> `imageView2`)."""
    return stage.split("/", 1)[0]


def _format_of(stage: str) -> str | None:
    parts = stage.split("/")
    name = parts[0]
    if "format" in parts[1:-1]:
        return parts[parts.index("format") + 1]
    if name in ("avthumb", "vframe", "odconv") and len(parts) > 1:
        return parts[1]
    return None


def run_stage(stage: str, source: Content) -> tuple[bytes, str]:
    """Apply one transforming stage: a deterministic stand-in for the real output."""
    name = command_of(stage)
    if name not in TRANSFORM_FOPS:
        raise ValueError(f"unsupported fop: {name!r} (the emulator simulates "
                         f"{', '.join(sorted(set(TRANSFORM_FOPS) | INFO_FOPS))})")
    fmt = _format_of(stage)
    out_mime = TRANSFORM_FOPS[name] or _FORMAT_MIME.get(fmt or "", source.mime)
    header = (
        f"kodo-jobs emulator fop: {stage}\n"
        f"input-sha1: {source.sha1}\n"
        f"input-size: {source.size}\n"
    )
    return header.encode(), out_mime


def info_result(name: str, source: Content) -> dict[str, Any]:
    """The JSON result of an info fop (avinfo, imageInfo...), derived from the input."""
    return {
        "format": {"format_name": source.mime, "size": str(source.size),
                   "duration": f"{source.size / 1000:.3f}"},
        "streams": [],
        "fop": name,
        "sha1": source.sha1,
    }


def default_output_key(source_key: str, spec: FopSpec, input_hash: str) -> str:
    """Key used when a fop has no saveas target: stable for the same input and command."""
    digest = hashlib.sha1(f"{spec.cmd}\n{input_hash}".encode()).digest()
    return base64.urlsafe_b64encode(b"\x16" + digest).decode()


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

    def status(self, job_id: str) -> dict[str, Any] | None:
        """The prefop JSON for a job, or None if the id is unknown."""
        self.advance()
        with self._lock:
            row = self._conn.execute("SELECT * FROM fop_jobs WHERE id=?", (job_id,)).fetchone()
        return None if row is None else self._render(row)

    def _render(self, row: tuple[Any, ...]) -> dict[str, Any]:
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
        due: list[tuple[Any, ...]] = []
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

    def _finish(self, row: tuple[Any, ...]) -> None:
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

    def status_nolock(self, job_id: str) -> dict[str, Any] | None:
        """The prefop JSON without advancing (used while finishing a job)."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM fop_jobs WHERE id=?", (job_id,)).fetchone()
        return None if row is None else self._render(row)

    def _run_one(self, spec: FopSpec, bucket: str, key: str, force: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"cmd": spec.cmd, "returnOld": 0}
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
