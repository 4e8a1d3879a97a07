"""The emulator's processing services, bundled per running emulator.

`Services` owns what the io/api/fusion/dl handlers and the upload hooks need beyond the
store: the pfop engine (`fops`), the CDN book (`cdn`), bucket mirror origins, and the async
fetch queue. Its state lives in `<data>/services.sqlite3` (WAL), next to the store's
`meta.sqlite3`, so a restart keeps pfop jobs, CDN quotas, mirrors and queued fetches.

Sources are fetched only from loopback (`remote`): a refused or failing source is a 478.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kodo_jobs.emulator import callbacks, media, remote
from kodo_jobs.emulator.cdn import CdnService
from kodo_jobs.emulator.db import connect_wal
from kodo_jobs.emulator.errors import BadRequest, CallbackFailed, EmulatorError, NoSuchKey, SourceFailed
from kodo_jobs.emulator.etag import StreamDigest, digest_bytes
from kodo_jobs.emulator.fops.commands import Content
from kodo_jobs.emulator.fops.engine import FopEngine, StoredObject
from kodo_jobs.emulator.jsontypes import JsonObject
from kodo_jobs.emulator.store import ObjectInfo, Store
from kodo_jobs.emulator.worker import Worker

if TYPE_CHECKING:
    from kodo_jobs.emulator.context import EmulatorState, RequestContext
    from kodo_jobs.emulator.verify import PutPolicy

log = logging.getLogger("kodo_jobs.emulator.services")

DB_NAME = "services.sqlite3"
_CHUNK = 1024 * 1024
STATE_KEY = "kodo_services"


def _ensure(state: EmulatorState, store: Store) -> Services:
    with state.lock:
        found = state.services.get(STATE_KEY)
        if isinstance(found, Services):
            return found
        cfg = state.config
        svc = Services(cfg.data_dir, store, cfg.access_key, cfg.secret_key)
        svc.start()
        state.services[STATE_KEY] = svc
        state.on_stop.append(svc.stop)
        return svc


def of(ctx: RequestContext) -> Services:
    """The emulator's `Services` (started by `install`, or here on first use)."""
    return _ensure(ctx.emulator, ctx.store)


def install(state: EmulatorState, store: Store) -> None:
    """Register the upload hooks and start the workers (so a restart resumes queued jobs).

    Hook order matters: persistentOps first, so `$(persistentId)` reaches the callback body.
    """
    state.after_upload_hooks.append(persistent_ops_hook)
    state.after_upload_hooks.append(callback_hook)
    _ensure(state, store)


def persistent_ops_hook(
    ctx: RequestContext, policy: PutPolicy, obj: ObjectInfo, custom_vars: dict[str, str]
) -> JsonObject | None:
    """Queue the policy's `persistentOps` on the uploaded object; adds `persistentId`."""
    ops = policy.get("persistentOps")
    if not ops:
        return None
    notify = policy.get("persistentNotifyUrl")
    # The object is stored already: a malformed persistentOps fails the job (visible in prefop
    # and notifyURL) instead of answering an error for an upload that did change the bucket.
    job_id = of(ctx).fops.submit(
        obj.bucket, obj.key, str(ops), pipeline=policy.get("persistentPipeline"),
        notify_url=str(notify) if notify else None,
        persistent_type=_as_int(policy.get("persistentType", 0)), reqid=ctx.reqid, strict=False,
    )
    ctx.upload_vars["persistentId"] = job_id
    return None


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest("persistentType must be 0 or 1") from exc  # checked before anything else


def callback_hook(
    ctx: RequestContext, policy: PutPolicy, obj: ObjectInfo, custom_vars: dict[str, str]
) -> JsonObject | None:
    """POST the upload callback and relay its JSON (579 when it fails)."""
    if not policy.get("callbackUrl"):
        return None
    variables = {**custom_vars, **ctx.upload_vars}
    result = callbacks.perform(policy.raw, variables, ctx.config.access_key, ctx.config.secret_key)
    if result.fetch_key and result.fetch_key != obj.key:
        ctx.store.move(obj.bucket, obj.key, obj.bucket, result.fetch_key, force=True)
    if isinstance(result.body, dict):
        return result.body
    raise CallbackFailed("callback answered JSON that is not an object; Kodo relays objects")


class StoreObjects:
    """`fops.ObjectAccess` over the emulator's `Store`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def read_object(self, bucket: str, key: str) -> StoredObject | None:
        """The object's SHA-1 (one streaming pass), size, MIME and hash; None if missing."""
        try:
            info = self._store.stat(bucket, key)
            sha1 = hashlib.sha1()
            head = b""
            with self._store.open_object(bucket, key) as fh:
                while chunk := fh.read(_CHUNK):
                    if not head:
                        head = chunk[:media.HEAD]
                    sha1.update(chunk)
        except (EmulatorError, FileNotFoundError):
            return None
        return StoredObject(Content(sha1.hexdigest(), info.fsize, info.mime, media.kind_of(head)), info.hash)

    def write_object(
        self, bucket: str, key: str, data: bytes, mime: str, delete_after_days: int | None
    ) -> str:
        """Store bytes under a key (overwriting) and return the hash."""
        return store_bytes(self._store, bucket, key, data, mime, delete_after_days or 0).hash

    def bucket_exists(self, bucket: str) -> bool:
        """Whether the bucket exists."""
        return self._store.bucket_exists(bucket)


def store_bytes(
    store: Store, bucket: str, key: str | None, data: bytes, mime: str | None,
    delete_after_days: int = 0, file_type: int = 0,
) -> ObjectInfo:
    """Store in-memory bytes; key None names the object by its hash."""
    digest = digest_bytes(data)
    final_key = digest.etag if key is None else key
    return store.put_object(
        bucket, final_key, bytes(data), mime=_mime(mime, final_key), fsize=len(data),
        hash=digest.etag, md5=digest.md5, delete_after_days=delete_after_days, file_type=file_type,
    )


def fetch_into(
    store: Store, url: str, bucket: str, key: str | None, host: str | None = None,
    check: Callable[[StreamDigest], None] | None = None, file_type: int = 0,
) -> ObjectInfo:
    """Stream a loopback URL to a temp file and store it; 478 (SourceFailed) when it fails.

    `check` sees the digest before anything is stored (async fetch's md5/etag) and may raise.
    """
    store.require_bucket(bucket)
    digest = StreamDigest()
    tmp = store.tmp_dir / f"fetch-{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as out:
            def sink(chunk: bytes) -> None:
                digest.update(chunk)
                out.write(chunk)

            try:
                content_type = remote.download(url, sink, host=host)
            except remote.RemoteError as exc:
                raise SourceFailed(exc.message) from exc
        if check is not None:
            check(digest)
        final_key = digest.etag if key is None else key
        return store.put_object(
            bucket, final_key, tmp, mime=_mime(content_type, final_key), fsize=digest.size,
            hash=digest.etag, md5=digest.md5, file_type=file_type,
        )
    finally:
        tmp.unlink(missing_ok=True)  # put_object consumed it on success


def _mime(announced: str | None, key: str) -> str:
    mime = (announced or "").split(";")[0].strip()
    if not mime or mime == "application/octet-stream":
        return mimetypes.guess_type(key)[0] or "application/octet-stream"
    return mime


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS mirrors (bucket TEXT PRIMARY KEY, source TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS async_fetch (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE,"
    " body TEXT NOT NULL, state TEXT NOT NULL, error TEXT, created REAL NOT NULL)",
)


class Services:
    """pfop engine, CDN book, mirrors and async fetch for one emulator (start/stop with it)."""

    def __init__(self, data_dir: Path, store: Store, access_key: str, secret_key: str) -> None:
        self.store = store
        self._ak, self._sk = access_key, secret_key
        path = data_dir / DB_NAME
        self.fops = FopEngine(path, StoreObjects(store), remote.post_json)
        self.cdn = CdnService(path)
        self._lock = threading.Lock()
        self._conn = connect_wal(path)
        for statement in _SCHEMA:
            self._conn.execute(statement)
        # A fetch interrupted by a stop runs again.
        self._conn.execute("UPDATE async_fetch SET state='queued' WHERE state='running'")
        self._worker = Worker("kodo-emulator-fetch", self._fetch_loop)

    def start(self) -> None:
        """Start the background workers."""
        self.fops.start()
        self._worker.start()

    def stop(self) -> None:
        """Stop the workers and close the databases (queued work resumes on the next start)."""
        self._worker.stop()
        self.fops.stop()
        self.cdn.close()
        with self._lock:
            self._conn.close()

    # -- mirrors ----------------------------------------------------------------------------
    def set_mirror(self, bucket: str, source: str | None) -> None:
        """Set (or with None, remove) the mirror origin of a bucket; `source` must be loopback."""
        with self._lock:
            if source is None:
                self._conn.execute("DELETE FROM mirrors WHERE bucket=?", (bucket,))
                return
            try:
                remote.check_url(source)
            except remote.RemoteError as exc:
                raise BadRequest(exc.message) from exc
            self._conn.execute("INSERT OR REPLACE INTO mirrors VALUES (?,?)", (bucket, source))

    def mirror_of(self, bucket: str) -> str | None:
        """The bucket's mirror origin, if any."""
        with self._lock:
            row = self._conn.execute("SELECT source FROM mirrors WHERE bucket=?", (bucket,)).fetchone()
        return str(row[0]) if row else None

    # -- async fetch (/sisyphus/fetch) ------------------------------------------------------------
    def queue_fetch(self, body: JsonObject) -> JsonObject:
        """Validate and queue an async fetch; returns `{"id", "wait"}`."""
        if not isinstance(body.get("url"), str) or not body["url"].strip():
            raise BadRequest("url is required")
        if not isinstance(body.get("bucket"), str) or not body["bucket"]:
            raise BadRequest("bucket is required")
        self.store.require_bucket(body["bucket"])
        task_id = f"z0.{uuid.uuid4().hex}"
        with self._lock:
            self._conn.execute("INSERT INTO async_fetch (id, body, state, created) VALUES (?,?,?,?)",
                               (task_id, json.dumps(body), "queued", time.time()))
        wait = self.fetch_status(task_id)["wait"]
        self._worker.wake_up()
        return {"id": task_id, "wait": wait}

    def fetch_status(self, task_id: str) -> JsonObject:
        """`{"id", "wait"}`: tasks ahead of it (0 = next or running, -1 = finished, with
        `state` and `error`); NoSuchKey (612) for an unknown id."""
        with self._lock:
            row = self._conn.execute("SELECT seq, state, error FROM async_fetch WHERE id=?", (task_id,)).fetchone()
            if row is None:
                raise NoSuchKey("no such fetch task")
            seq, state, error = row
            if state == "queued":
                ahead = self._conn.execute(
                    "SELECT COUNT(*) FROM async_fetch WHERE state IN ('queued','running') AND seq<?", (seq,)
                ).fetchone()[0]
                return {"id": task_id, "wait": int(ahead)}
        out: JsonObject = {"id": task_id, "wait": 0 if state == "running" else -1, "state": state}
        if error:
            out["error"] = error
        return out

    def _fetch_loop(self) -> None:
        while not self._worker.stopping.is_set():
            try:
                with self._lock:
                    row = self._conn.execute(
                        "SELECT id, body FROM async_fetch WHERE state='queued' ORDER BY seq LIMIT 1"
                    ).fetchone()
                    if row is not None:
                        self._conn.execute("UPDATE async_fetch SET state='running' WHERE id=?", (row[0],))
            except sqlite3.ProgrammingError:
                return
            if row is None:
                self._worker.idle(5.0)  # queue_fetch wakes us
                continue
            try:
                error = self._run_fetch(json.loads(row[1]))
            except Exception as exc:  # a bug or a disk error fails the task, not the worker
                log.exception("async fetch %s failed", row[0])
                error = f"emulator error: {exc}"
            with self._lock:
                self._conn.execute("UPDATE async_fetch SET state=?, error=? WHERE id=?",
                                   ("failed" if error else "done", error, row[0]))

    def _run_fetch(self, body: JsonObject) -> str | None:
        """Run one async fetch; returns an error message or None."""
        bucket, key = body["bucket"], body.get("key") or None
        if key and body.get("ignore_same_key") and self.store.exists(bucket, key):
            return None
        want_md5, want_etag = body.get("md5"), body.get("etag")

        def check(digest: StreamDigest) -> None:
            if want_md5 and str(want_md5).lower() != digest.md5:
                raise SourceFailed(f"md5 mismatch: source has {digest.md5}")
            if want_etag and want_etag != digest.etag:
                raise SourceFailed(f"etag mismatch: source has {digest.etag}")

        problems = []
        for url in [u.strip() for u in str(body["url"]).split(";") if u.strip()]:
            try:
                info = fetch_into(self.store, url, bucket, key, body.get("host"), check,
                                  int(body.get("file_type") or 0))
            except EmulatorError as exc:
                problems.append(exc.message)
                continue
            if body.get("callbackurl"):
                policy = {"callbackUrl": body["callbackurl"], "callbackBody": body.get("callbackbody", ""),
                          "callbackBodyType": body.get("callbackbodytype"), "callbackHost": body.get("callbackhost")}
                variables = {"bucket": bucket, "key": info.key, "etag": info.hash, "hash": info.hash,
                             "fsize": info.fsize, "mimeType": info.mime}
                try:
                    callbacks.perform(policy, variables, self._ak, self._sk)
                except CallbackFailed as exc:
                    return exc.message
            return None
        return "; ".join(problems) or "no url"
