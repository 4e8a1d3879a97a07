"""Carry out sync actions: upload one file (checked, resumable, re-planned on change), delete many.

Upload of one action, as a small state machine:

1. stat the file: the fingerprint (size, mtime_ns) may differ from the plan's (it changed
   since planning); the upload simply sends what is there now;
2. the expected hash: the hash cache, or computed (the plain qetag, or the v2 hash for the
   configured part size when the file goes up by v2 with parts other than 4 MiB); a chunked
   upload whose hash is not cached is hashed in a thread *while* its parts are sent (the hash
   only checks the result of the upload), so a 512 MiB file is not read once before sending;
3. upload with a token for exactly this key, the manifest's put policy and options; a chunked
   upload resumes from ``ctx.state.load_upload(action.id)`` when the saved state belongs to the
   same file (bucket, key, size, mtime_ns; the client also checks part size and expiry); a
   saved v2 session of a file that changed since is aborted (best effort) and the upload starts
   fresh; every new state is saved through ``on_state`` before the part counts;
4. stat again: if the file changed while it was sent (or the client raised ``SourceChanged``)
   the upload is **re-planned once**: fingerprint, etag and upload again from scratch;
5. the hash Kodo returns (or, when a ``returnBody``/callback response carries none, the hash a
   ``stat`` reports) must equal the expected hash. On a mismatch the etag is computed
   afresh, bypassing the cache (a file rewritten with the same size and mtime leaves a stale
   cache row): equal now -> the cache is fixed and the object is right; still different ->
   upload once more, then fail loudly. An object is never left silently wrong.

Retries happen per request, not per file: the client retries each part (v2), block (v1),
initiate, complete and form upload on its own with the job's policy
(:func:`~kodo_jobs.jobs.tries.policy_for`), and a failing part never costs the parts in
flight. A file fails only when one request used up its own attempts: the action ends
``failed`` with that request's code and reqid, its session stays saved, and the next run
sends only the missing parts. An expired session (701, an unknown uploadId) restarts the
upload once with a new session; a run-fatal answer (401, 631) propagates and stops the run.

A stop request (signal, ``--max-duration``, ``--max-bytes``) reaches a chunked upload through
``should_stop=ctx.stop_requested``: no further part starts, a part waiting to retry gives up
its wait, the parts in flight finish and are saved, and the action ends ``pending`` (the
executor leaves it for the next run, which resumes the saved session and sends only the
missing parts).

Bytes: ``Outcome.bytes`` is the payload this run moved (each landed byte once),
``Outcome.wire`` every try's body, re-sends included.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import Future
from email.utils import formatdate
from typing import TYPE_CHECKING, Literal, TypedDict

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.jobs.sync.hashing import (
    Hasher,
    HashRequest,
    HashResult,
    cache_path,
    compute,
    etag_kind_part_size,
)
from kodo_jobs.jobs.tries import policy_for
from kodo_jobs.kodo import errors as kodo_errors
from kodo_jobs.kodo.auth import PutPolicy
from kodo_jobs.kodo.retry import RetryPolicy, call_with_retries
from kodo_jobs.kodo.upload.calls import RetryNotice
from kodo_jobs.kodo.upload.parts import adjust_part_size
from kodo_jobs.kodo.upload.state import UploadState

if TYPE_CHECKING:
    from kodo_jobs.manifest.spec_sync import SyncJob
    from kodo_jobs.manifest.upload import PutPolicy as ManifestPutPolicy

LAST_MODIFIED_META = "!Last-Modified"
"""Metadata name the official SDK uses for ``keep_last_modified`` (an RFC 1123 date)."""
ATTEMPTS = 2
"""The first upload plus one re-planned upload after a change or a hash mismatch."""
RESTARTS = 1
"""New sessions after an expired one (701, unknown uploadId) within one run."""


def _warn(ctx: JobContext[SyncJob], event: str, **fields: object) -> None:
    if ctx.log is not None:
        ctx.log.warning(event, **fields)


def _failed(action: Action, message: str, **result: object) -> Outcome:
    return Outcome(action.id, "failed", message=message, result=result)


def hash_part_size(spec: SyncJob, size: int) -> int:
    """The part size behind the hash Kodo gives a ``size``-byte file uploaded by this job (0 = qetag)."""
    up = spec.upload
    part = int(up.part_size)
    if up.resumable == "v2" and size > int(up.threshold):
        part = adjust_part_size(size, part)
    return etag_kind_part_size(str(up.resumable), part, size, int(up.threshold))


def _load_resume(action: Action, ctx: JobContext[SyncJob], size: int, mtime_ns: int) -> UploadState | None:
    """The saved session of this action if it still fits the file; a stale v2 session is aborted."""
    saved = ctx.state.load_upload(action.id)
    if not saved:
        return None
    try:
        state = UploadState.from_json(saved)
    except ValueError:
        ctx.state.drop_upload(action.id)  # unreadable (older format): start fresh
        return None
    if state.matches(str(ctx.spec.bucket), action.key, size, mtime_ns):
        return state  # the client still checks the part size, version and expiry
    ctx.state.drop_upload(action.id)
    if state.version == "v2" and state.upload_id and not state.expired():
        _abort(state, ctx)
    return None


def _abort(state: UploadState, ctx: JobContext[SyncJob]) -> None:
    """Best effort: free the server's parts of an upload whose file has changed since."""
    client = ctx.client
    try:
        hosts = client.resolver.candidates("up", state.bucket)
        token = client.upload.token(state.bucket, state.key)
        client.upload.resumable.abort(hosts, token, state.bucket, state.key, state.upload_id)
    except kodo_errors.KodoError as exc:  # it expires on its own anyway
        _warn(ctx, "could not abort a stale upload", key=state.key, error=str(exc))


_POLICIES: dict[int, tuple[ManifestPutPolicy, PutPolicy]] = {}
_POLICIES_LOCK = threading.Lock()


def _put_policy(manifest_policy: ManifestPutPolicy) -> PutPolicy:
    """The token template of a job's ``upload.policy``, built once per job rather than per file
    (a model dump and a dataclass per file, then hashed again by the token cache). Keyed by the
    (immutable) manifest object; the entry keeps it alive so its id is never reused."""
    found = _POLICIES.get(id(manifest_policy))
    if found is not None and found[0] is manifest_policy:
        return found[1]
    template = PutPolicy.from_mapping(manifest_policy.to_policy_dict())
    with _POLICIES_LOCK:
        if len(_POLICIES) > 64:  # jobs are few; a long-lived process must not grow this
            _POLICIES.clear()
        _POLICIES[id(manifest_policy)] = (manifest_policy, template)
    return template


class UploadOptions(TypedDict):
    """The keyword arguments of ``upload_file`` that a sync job's ``upload:`` block sets."""

    policy: PutPolicy
    token_ttl: int
    version: Literal["v1", "v2"]
    threshold: int
    part_size: int
    part_concurrency: int
    mime_type: str | None
    metadata: dict[str, str] | None
    custom_vars: dict[str, str] | None
    part_md5: bool


def _upload_kwargs(spec: SyncJob, path: str, mtime_ns: int) -> UploadOptions:
    up = spec.upload
    metadata = dict(up.metadata)
    if up.keep_last_modified:
        metadata[LAST_MODIFIED_META] = formatdate(mtime_ns / 1e9, usegmt=True)
    return {
        "policy": _put_policy(up.policy),
        "token_ttl": int(up.token_ttl),
        "version": up.resumable,
        "threshold": int(up.threshold),
        "part_size": int(up.part_size),
        "part_concurrency": int(up.part_concurrency),
        "mime_type": up.mime_type,
        "metadata": metadata or None,
        "custom_vars": dict(up.custom_vars) or None,
        "part_md5": bool(up.part_md5),
    }


class _Tracker:
    """One upload's callbacks: persist each new state, count payload and wire bytes, log retries.

    A resumed upload first reports the bytes the server already holds, before any new state:
    they move the progress bar but are not bytes sent by this run. ``sent`` and ``wire`` add up
    over every attempt of the action (a re-planned or restarted upload keeps counting).
    """

    def __init__(self, action: Action, ctx: JobContext[SyncJob]) -> None:
        self.action = action
        self.ctx = ctx
        self.resumed = False
        self.saved_any = False
        self.sent = 0
        self.wire = 0
        self._lock = threading.Lock()

    def attempt(self, *, resumed: bool) -> None:
        """A new call of the client starts (a fresh or a resumed session)."""
        self.resumed = resumed
        self.saved_any = False

    def save(self, state: UploadState) -> None:
        self.saved_any = True
        self.ctx.state.save_upload(self.action.id, state.to_json())

    def progress(self, nbytes: int) -> None:
        if not (self.resumed and not self.saved_any):
            with self._lock:
                self.sent += nbytes
        self.ctx.events.progress(nbytes)

    def on_wire(self, nbytes: int) -> None:
        with self._lock:
            self.wire += nbytes

    def retrying(self, notice: RetryNotice) -> None:
        exc = notice.error
        if self.ctx.log is not None:
            self.ctx.log.warning("retrying", op=self.action.op, key=self.action.key, part=notice.part,
                                 attempt=notice.attempt, wait=round(notice.wait, 3), reqid=exc.reqid,
                                 code=exc.code, error=str(exc))
        what = f"part {notice.part}: {exc}" if notice.part is not None else str(exc)
        self.ctx.events.retrying(self.action, notice.attempt, notice.wait, what)


def upload(action: Action, ctx: JobContext[SyncJob]) -> Outcome:
    """Upload one ``upload``/``update`` action (see the module docstring)."""
    ctx.events.file_started(action)
    try:
        return _upload(action, ctx)
    finally:
        ctx.events.file_finished(action)


def _upload(action: Action, ctx: JobContext[SyncJob]) -> Outcome:
    spec = ctx.spec
    path = str(action.params["path"])
    hasher = Hasher(ctx.state)
    policy = policy_for(spec)
    tracker = _Tracker(action, ctx)
    last_problem = ""
    restarts = 0
    attempt = 0
    while attempt < ATTEMPTS:
        attempt += 1
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return _failed(action, "the local file disappeared after planning; the next run will re-plan it")
        except OSError as exc:
            return _failed(action, f"cannot stat the local file: {exc.strerror}")
        size, mtime_ns = st.st_size, st.st_mtime_ns
        request = HashRequest(path, size, mtime_ns, hash_part_size(spec, size))
        # a file at or under the threshold goes in one form upload and never has a session:
        # skip the checkpoint round trips (a leftover of a bigger earlier version of the file
        # is removed with the job's orphan sessions once the job ends ok)
        chunked = size > int(spec.upload.threshold)
        expected = ""
        hashing: Future[HashResult] | None = None
        if chunked and attempt == 1 and hasher.lookup(request) is None:
            hashing = _hash_meanwhile(hasher, request)  # needed only to check the returned hash
        else:
            hashed = hasher.etag(request) if attempt == 1 else compute(request)[0]
            if hashed.etag is None:
                return _failed(action, hashed.error or "cannot hash the local file")
            expected = hashed.etag

        resume = _load_resume(action, ctx, size, mtime_ns) if chunked else None
        tracker.attempt(resumed=resume is not None)
        try:
            result = ctx.client.upload.upload_file(
                str(spec.bucket), action.key, path, resume=resume, on_state=tracker.save,
                on_progress=tracker.progress, should_stop=ctx.stop_requested, retry=policy,
                on_retry=tracker.retrying, on_wire=tracker.on_wire, **_upload_kwargs(spec, path, mtime_ns))
        except kodo_errors.UploadPaused as exc:
            # a stop request inside a chunked upload: the session stays saved, the action pending
            return Outcome(action.id, "pending", bytes=tracker.sent, wire=tracker.wire,
                           message=f"paused by a stop request: {exc.message}")
        except kodo_errors.UploadRestartRequired as exc:
            # the session expired or the server forgot it: a new session, once per run
            ctx.state.drop_upload(action.id)
            if restarts >= RESTARTS:
                return _gave_up(action, tracker, exc, "the upload session expired again")
            restarts += 1
            attempt -= 1
            _warn(ctx, "upload session expired, restarting", key=action.key, code=exc.code, reqid=exc.reqid)
            continue
        except kodo_errors.RetryableError as exc:
            # one request used up its own attempts: the file fails, its session stays saved
            return _gave_up(action, tracker, exc, "")
        except kodo_errors.SourceChanged as exc:
            if chunked or tracker.saved_any:
                ctx.state.drop_upload(action.id)
            last_problem = f"the file changed while it was uploaded ({exc.message})"
            _warn(ctx, "source changed during upload", key=action.key, attempt=attempt)
            continue
        except FileNotFoundError:
            if chunked or tracker.saved_any:
                ctx.state.drop_upload(action.id)
            return _failed(action, "the local file disappeared during the upload")
        if chunked or tracker.saved_any:
            ctx.state.drop_upload(action.id)
        with contextlib.suppress(OSError):
            after = os.stat(path)
            if (after.st_size, after.st_mtime_ns) != (size, mtime_ns):
                last_problem = "the file changed right after it was uploaded"
                _warn(ctx, "source changed after upload", key=action.key, attempt=attempt)
                continue
        if hashing is not None:
            hashed = hashing.result()
            if hashed.etag is None:
                return _failed(action, hashed.error or "cannot hash the local file")
            expected = hashed.etag
        try:
            stored = result.hash or _stat_hash(ctx, action.key, policy)
        except kodo_errors.RetryableError as exc:
            return _gave_up(action, tracker, exc, "uploaded, but the stored object could not be checked")
        done = {"hash": stored, "fsize": result.fsize}
        if stored == expected:
            return Outcome(action.id, "done", bytes=tracker.sent, wire=tracker.wire, result=done)
        fresh, stable = compute(request)
        if fresh.etag == stored and stable:
            # the cache row was stale (same size and mtime, other content): fix it, object is right
            ctx.state.remember_etag(cache_path(request), size, mtime_ns, stored)
            return Outcome(action.id, "done", bytes=tracker.sent, wire=tracker.wire, result=done)
        last_problem = (f"hash mismatch: Kodo stored {stored} but the local file's etag is "
                        f"{fresh.etag or expected}")
        _warn(ctx, "uploaded hash mismatch", key=action.key, attempt=attempt,
              remote=stored, local=fresh.etag or expected)
    return Outcome(action.id, "failed", bytes=tracker.sent, wire=tracker.wire,
                   message=f"{last_problem}; tried {ATTEMPTS} times, the next run will try again")


def _gave_up(action: Action, tracker: _Tracker, exc: kodo_errors.KodoError, what: str) -> Outcome:
    """The action fails with the code and reqid of the request that used up its attempts."""
    tries = f" (after {exc.attempts} attempt(s))" if exc.attempts > 1 else ""
    prefix = f"{what}: " if what else ""
    return Outcome(action.id, "failed", bytes=tracker.sent, wire=tracker.wire, code=exc.code, reqid=exc.reqid,
                   message=f"{prefix}{exc.message}{tries}; the next run resumes the upload")


def _hash_meanwhile(hasher: Hasher, request: HashRequest) -> Future[HashResult]:
    """Hash a big file in a thread while its parts are sent (SHA-1 runs outside the GIL), so
    the upload does not wait for a whole-file read first; the result still checks the hash
    Kodo returns. A daemon thread: a stopping process does not wait for it."""
    future: Future[HashResult] = Future()

    def work() -> None:
        try:
            future.set_result(hasher.etag(request))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting upload
            future.set_exception(exc)

    threading.Thread(target=work, name="kodo-jobs-hash", daemon=True).start()
    return future


def _stat_hash(ctx: JobContext[SyncJob], key: str, policy: RetryPolicy) -> str:
    """The stored object's hash, when the upload response had none (a returnBody or callback
    response without ``hash``): one stat instead of trusting an unchecked upload (retried on
    its own, so a failing stat never sends the file again)."""
    bucket = str(ctx.spec.bucket)
    return str(call_with_retries(lambda _n: ctx.client.rs.stat(bucket, key), policy).hash)
