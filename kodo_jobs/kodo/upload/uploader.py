"""``client.upload``: choose form or resumable upload, drive parts in parallel, resume.

Per file: stat it (the fingerprint is size + mtime_ns), mint an upload token for exactly
``bucket:key`` with a short deadline, then

* size <= ``threshold``: one form upload;
* larger: resumable v1 (4 MiB blocks, mkblk + mkfile) or v2 (initiate, parts, complete);
  parts go up on ``part_concurrency`` threads, each reading its part with ``os.pread`` and
  sending ``bytes`` (urllib3 sends file objects in 16 KiB blocks, which is slow);
  ``on_state`` gets the new :class:`UploadState` after the initiate and after **every**
  finished part, so the caller can persist it before counting the part;
* ``resume``: a state of the same file (bucket, key, size, mtime_ns, part size, version) sends
  only the missing parts (v2 reuses its uploadId, v1 re-sends mkfile with all ctxs); a state
  that does not match or has expired is ignored and the upload starts fresh;
* ``should_stop``: asked before each part is started; once it says yes no further part
  starts, the parts in flight finish and are reported through ``on_state``, and
  ``UploadPaused`` is raised (not a failure: resume later from the last state);
* the file is stat'ed again before the final call; a change raises ``SourceChanged``;
* ``retry``: every request (each part or block, initiate, complete/mkfile, a form upload) is
  retried on its own with this policy and its own host walk (:mod:`.calls`). A part that fails
  never cancels the parts in flight: they finish and are reported through ``on_state``; once a
  part has used up its attempts no new part starts and its last error is raised (with
  ``attempts``), so the saved state lets a later upload send only the rest. Without a policy
  each request is tried once. ``on_retry`` hears of each retry, ``on_wire`` of every try's
  body bytes (re-sends included), while ``on_progress`` counts each landed byte once.

The returned hash is the server's; comparing it with the local etag is the caller's job.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Literal

from .. import errors
from ..auth import PutPolicy, mint_upload_token
from ..clock import DeadlineSlack
from ..config import Credentials
from ..hosts import HostResolver
from ..jsontypes import JsonMapping
from ..retry import RetryPolicy
from .calls import RetryNotice, UploadCalls
from .form import FormUploader
from .parts import BLOCK_SIZE, MIB, Part, adjust_part_size, missing_parts, plan_parts
from .resumable import ResumableApi
from .state import FinishedPart, UploadState

V1_CTX_LIFETIME = 7 * 24 * 3600
_NO_POLICY = PutPolicy()  # one object, so the token minter's per-template cache hits


@dataclass(frozen=True, slots=True)
class UploadResult:
    """What Kodo stored: key, hash, size and the full response body (returnBody/callback)."""

    key: str
    hash: str
    fsize: int
    body: JsonMapping


def _read_part(fd: int, part: Part) -> bytes:
    data = os.pread(fd, part.size, part.offset)
    while len(data) < part.size:
        more = os.pread(fd, part.size - len(data), part.offset + len(data))
        if not more:
            raise errors.SourceChanged("the file shrank while it was uploaded")
        data += more
    return data


class Uploader:
    """Form and resumable uploads of files and bytes."""

    def __init__(self, credentials: Credentials, resolver: HostResolver, form: FormUploader,
                 resumable: ResumableApi, slack: DeadlineSlack | None = None) -> None:
        self._credentials = credentials
        self._slack = slack or DeadlineSlack()  # the client's: a measured skew widens deadlines
        self._resolver = resolver
        self.form = form
        self.resumable = resumable

    def token(self, bucket: str, key: str | None, policy: PutPolicy | None = None, ttl: int = 3600) -> str:
        """An upload token for ``bucket:key`` (or the bucket) valid ``ttl`` seconds."""
        return mint_upload_token(self._credentials, policy or _NO_POLICY, bucket, key, ttl=ttl, now=self._slack.now())

    def upload_bytes(
        self, bucket: str, key: str | None, data: bytes, *, policy: PutPolicy | None = None,
        token_ttl: int = 3600, mime_type: str = "application/octet-stream", fname: str | None = None,
        metadata: Mapping[str, str] | None = None, custom_vars: Mapping[str, str] | None = None,
        upload_host: str | None = None,
    ) -> UploadResult:
        """Form-upload in-memory ``data``."""
        token = self.token(bucket, key, policy, token_ttl)
        body = self._resolver.call("up", bucket, lambda hosts: self.form.upload_bytes(
            hosts, token, key, data, fname=fname or key or "file_name", mime_type=mime_type,
            custom_vars=custom_vars, metadata=metadata), upload_host)
        return _result(body, key, len(data))

    def upload_file(
        self, bucket: str, key: str, path: str | os.PathLike[str], *, policy: PutPolicy | None = None,
        token_ttl: int = 3600, version: Literal["v1", "v2"] = "v2", threshold: int = 4 * MIB,
        part_size: int = 4 * MIB, part_concurrency: int = 3, mime_type: str | None = None,
        metadata: Mapping[str, str] | None = None, custom_vars: Mapping[str, str] | None = None,
        resume: UploadState | None = None, on_state: Callable[[UploadState], None] | None = None,
        on_progress: Callable[[int], None] | None = None, upload_host: str | None = None,
        fname: str | None = None, should_stop: Callable[[], bool] | None = None, part_md5: bool = True,
        retry: RetryPolicy | None = None, on_retry: Callable[[RetryNotice], None] | None = None,
        on_wire: Callable[[int], None] | None = None,
    ) -> UploadResult:
        """Upload ``path`` as ``bucket/key`` (see the module docstring for the whole contract).

        ``part_md5``: v2 parts carry a Content-MD5 (the SDK's behaviour; see
        :meth:`ResumableApi.upload_part`)."""
        if version not in ("v1", "v2"):
            raise ValueError("version must be 'v1' or 'v2'")
        if threshold < 0 or part_concurrency < 1:
            raise ValueError("threshold must be >= 0 and part_concurrency >= 1")
        path = os.fspath(path)

        def send(hosts: tuple[str, ...]) -> UploadResult:
            return self._upload_file(hosts, bucket, key, path, policy=policy, token_ttl=token_ttl,
                                     version=version, threshold=threshold, part_size=part_size,
                                     part_concurrency=part_concurrency, mime_type=mime_type, metadata=metadata,
                                     custom_vars=custom_vars, resume=resume, on_state=on_state,
                                     on_progress=on_progress, fname=fname, should_stop=should_stop,
                                     part_md5=part_md5, retry=retry, on_retry=on_retry, on_wire=on_wire)

        # "incorrect region" / "acceleration not configured" come on the first request, before
        # any part is sent: the resolver retries the whole upload with its new hosts
        return self._resolver.call("up", bucket, send, upload_host)

    def _upload_file(
        self, hosts: tuple[str, ...], bucket: str, key: str, path: str, *, policy: PutPolicy | None,
        token_ttl: int, version: Literal["v1", "v2"], threshold: int, part_size: int, part_concurrency: int,
        mime_type: str | None, metadata: Mapping[str, str] | None, custom_vars: Mapping[str, str] | None,
        resume: UploadState | None, on_state: Callable[[UploadState], None] | None,
        on_progress: Callable[[int], None] | None, fname: str | None, should_stop: Callable[[], bool] | None,
        part_md5: bool, retry: RetryPolicy | None, on_retry: Callable[[RetryNotice], None] | None,
        on_wire: Callable[[int], None] | None,
    ) -> UploadResult:
        """One upload of ``path`` through ``hosts`` (see :meth:`upload_file`)."""
        st = os.stat(path)
        size, mtime_ns = st.st_size, st.st_mtime_ns
        calls = UploadCalls(hosts, retry or RetryPolicy.once(), should_stop=should_stop, on_retry=on_retry,
                            on_wire=on_wire)
        name = fname or os.path.basename(path)
        mime = mime_type or "application/octet-stream"

        def token() -> str:
            return self.token(bucket, key, policy, token_ttl)

        def check_unchanged() -> None:
            now = os.stat(path)
            if (now.st_size, now.st_mtime_ns) != (size, mtime_ns):
                raise errors.SourceChanged(f"{path} changed while it was uploaded; upload it again")

        if size <= threshold:
            body = calls.call(lambda hosts: self.form.upload_file(
                hosts, token(), key, path, size, fname=name, mime_type=mime, custom_vars=custom_vars,
                metadata=metadata), body=size)
            check_unchanged()
            if on_progress:
                on_progress(size)
            return _result(body, key, size)

        psize = BLOCK_SIZE if version == "v1" else adjust_part_size(size, part_size)
        state = resume if _usable(resume, version, bucket, key, size, mtime_ns, psize) else None
        if state is None:
            if version == "v2":
                upload_id, expire_at = calls.call(lambda hosts: self.resumable.initiate(hosts, token(), bucket, key))
                state = UploadState("v2", bucket, key, psize, size, mtime_ns, expire_at, upload_id=upload_id)
            else:
                state = UploadState("v1", bucket, key, psize, size, mtime_ns,
                                    int(time.time()) + V1_CTX_LIFETIME)
            if on_state:
                on_state(state)
        elif on_progress and state.bytes_done:
            on_progress(state.bytes_done)

        plan = plan_parts(size, psize)
        todo = missing_parts(plan, state.finished_numbers)
        state = self._send_parts(path, state, todo, calls, token, part_concurrency, on_state, on_progress,
                                 part_md5=part_md5)
        done = state.finished_numbers
        if any(p.number not in done for p in plan):
            raise errors.ServerError("some parts were not uploaded")
        try:
            check_unchanged()
        except errors.SourceChanged:
            if state.version == "v2":
                # best effort: an abandoned uploadId expires on its own
                with contextlib.suppress(errors.KodoError):
                    self.resumable.abort(calls.hosts, token(), bucket, key, state.upload_id)
            raise
        final = state
        if final.version == "v1":
            body = calls.call(lambda hosts: self.resumable.mkfile(
                hosts, token(), size, [p.etag for p in final.parts], key=key, fname=name, mime_type=mime,
                custom_vars=custom_vars, metadata=metadata))
        else:
            body = calls.call(lambda hosts: self.resumable.complete(
                hosts, token(), bucket, key, final.upload_id, [(p.number, p.etag) for p in final.parts],
                fname=name, mime_type=mime, custom_vars=custom_vars, metadata=metadata))
        return _result(body, key, size)

    def _send_parts(
        self, path: str, state: UploadState, todo: tuple[Part, ...], calls: UploadCalls,
        token: Callable[[], str], concurrency: int, on_state: Callable[[UploadState], None] | None,
        on_progress: Callable[[int], None] | None, *, part_md5: bool = True,
    ) -> UploadState:
        """Send ``todo`` with at most ``concurrency`` parts in flight, each retried on its own.

        A new part starts only while no part has failed for good and no stop is requested; the
        parts in flight always finish (or fail for good) and every finished one is reported, so a
        failure or a stop costs no part that was already on its way."""
        if not todo:
            return state
        fd = os.open(path, os.O_RDONLY)

        def send(part: Part) -> tuple[FinishedPart, int | None]:
            data = _read_part(fd, part)
            if state.version == "v1":
                blk = calls.call(lambda hosts: self.resumable.mkblk(hosts, token(), part.size, data,
                                                                    body=calls.body(data)), part=part.number)
                return FinishedPart(part.number, blk.ctx, part.size), blk.expired_at or None
            etag = calls.call(lambda hosts: self.resumable.upload_part(
                hosts, token(), state.bucket, state.key, state.upload_id, part.number, data,
                content_md5=part_md5, body=calls.body(data)), part=part.number)
            return FinishedPart(part.number, etag, part.size), None

        workers = min(concurrency, len(todo))
        queue = iter(todo)
        left = len(todo)
        paused = False
        failure: BaseException | None = None
        numbers: dict[Future[tuple[FinishedPart, int | None]], int] = {}
        pending: set[Future[tuple[FinishedPart, int | None]]] = set()

        def start_more(pool: ThreadPoolExecutor) -> None:
            nonlocal left, paused
            while failure is None and not paused and left and len(pending) < workers:
                if calls.stopping():
                    paused = True
                    return
                part = next(queue)
                left -= 1
                fut = pool.submit(send, part)
                numbers[fut] = part.number
                pending.add(fut)

        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kodo-part") as pool:
                try:
                    start_more(pool)
                    while pending:
                        # record each part as it lands (FIRST_EXCEPTION would wait for all)
                        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                        # in part order when several finished together (deterministic states)
                        for fut in sorted(finished, key=numbers.__getitem__):
                            exc = fut.exception()
                            if exc is not None:  # the others in flight go on
                                if failure is None or _gravity(exc) > _gravity(failure):
                                    failure = exc
                                continue
                            part, expiry = fut.result()
                            state = state.with_part(part, expiry)
                            if on_state:
                                on_state(state)
                            if on_progress:
                                on_progress(part.size)
                        start_more(pool)
                except BaseException:
                    paused = True  # start nothing more; the pool waits for the parts in flight
                    raise
        finally:
            os.close(fd)
        if failure is not None and not (isinstance(failure, errors.RetryableError) and calls.stopping()):
            raise failure
        if failure is not None or left:
            # a stop request: before a part started, or during a part's backoff
            missing = len(todo) - sum(1 for p in todo if p.number in state.finished_numbers)
            raise errors.UploadPaused(
                f"stopped on request with {len(state.parts)} part(s) sent and {missing} left; "
                "resume from the saved state", done_bytes=state.bytes_done)
        return state


def _gravity(exc: BaseException) -> int:
    """Which of several part errors to raise: one that stops the run, then one that restarts the
    upload, then any other (a part out of attempts, a local error)."""
    if isinstance(exc, errors.RunFatalError):
        return 2
    return 1 if isinstance(exc, errors.UploadRestartRequired) else 0


def _usable(state: UploadState | None, version: str, bucket: str, key: str, size: int, mtime_ns: int,
            part_size: int) -> bool:
    return (state is not None and state.version == version and state.part_size == part_size
            and state.matches(bucket, key, size, mtime_ns) and not state.expired()
            and (version == "v1" or bool(state.upload_id)))


def _result(body: JsonMapping, key: str | None, size: int) -> UploadResult:
    return UploadResult(key=str(body.get("key", key if key is not None else "")),
                        hash=str(body.get("hash", "")), fsize=size, body=body)
