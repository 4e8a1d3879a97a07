"""``kind: fetch``: have Kodo download URLs into a bucket, or re-pull mirrored keys (``prefetch``).

Plan: one ``fetch`` action per target key (``params.url``), or one ``prefetch`` action per key.
With ``skip_existing`` the plan stats the keys in batches of 1000: an existing key is ``skip``
(``true``/``key``), or, with ``etag``/``md5``, only when the hash given in the URL file's third
column matches (no hash given: by key). Two URLs for one key are a located error.

Run: ``mode: sync`` calls io ``/fetch`` per URL; ``mode: async`` queues api
``/sisyphus/fetch`` tasks, remembers their ids in the checkpoint (a rerun polls instead of
queueing again), polls until each is processed and then checks the object exists. Results go
to ``success_file`` (``url<TAB>key``) and ``failure_file`` (``url<TAB>key<TAB>code<TAB>error``),
qshell-style, so ``urls_file: <failure file>`` on a rerun fetches exactly what failed. Both
files are rewritten by every real run (never by ``plan`` or ``--dry-run``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from kodo_jobs.actions import ERROR_OP, Action, Outcome
from kodo_jobs.jobs.base import JobContext, JobKind
from kodo_jobs.jobs.batch_state import Current
from kodo_jobs.jobs.exports import ExportFiles
from kodo_jobs.jobs.keys import UrlLine, key_from_url, read_keys_file, read_urls_file
from kodo_jobs.jobs.ops import FetchOp
from kodo_jobs.jobs.seen import SeenKeys
from kodo_jobs.jobs.tries import Tries, max_attempts, outcome_for_error
from kodo_jobs.kodo.errors import KodoError, NotFound, RunFatalError
from kodo_jobs.kodo.fetch import AsyncFetchRequest
from kodo_jobs.kodo.rs import MAX_BATCH, ops

if TYPE_CHECKING:
    from kodo_jobs.manifest.spec_fetch import FetchJob, SkipExisting

ASYNC_TIMEOUT_S = 600.0
"""How long one run waits for queued async fetch tasks before leaving them for the next run."""

_TRIES = Tries()
EXPORTS = ExportFiles()


def _url_lines(spec: FetchJob) -> Iterator[UrlLine]:
    """The job's URLs, inline or streamed from ``urls_file`` (never read whole)."""
    if spec.urls is not None:
        return (UrlLine(i, url, spec.key_prefix + key_from_url(url)) for i, url in enumerate(spec.urls, start=1))
    if spec.urls_file is None:  # the model requires urls or urls_file
        return iter(())
    return read_urls_file(spec.urls_file, key_prefix=spec.key_prefix)


T = TypeVar("T")


def _chunks(lines: Iterator[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _existing(ctx: JobContext[FetchJob], bucket: str, keys: Sequence[str]) -> dict[str, Current]:
    """Stat ``keys`` with batch requests; key -> stat data of those that exist."""
    found: dict[str, Current] = {}
    for start in range(0, len(keys), MAX_BATCH):
        chunk = keys[start:start + MAX_BATCH]
        for res in ctx.client.rs.batch([ops.stat(bucket, k) for k in chunk]):
            if res.ok:
                found[res.op.key] = dict(res.data)
            elif res.code != 612:
                exc = res.exception
                assert exc is not None
                raise exc
    return found


def _same_hash(mode: SkipExisting, expected: str | None, stat: Current) -> bool:
    if mode in (True, "key") or expected is None:
        return True
    field = "hash" if mode == "etag" else "md5"
    return str(stat.get(field, "")).lower() == expected.lower()


class FetchKind:
    """The ``fetch`` job kind."""

    kind = "fetch"
    batch_size = 50

    def plan(self, spec: FetchJob, ctx: JobContext[FetchJob]) -> Iterator[Action[FetchOp]]:
        """One action per target key; existing keys skipped when ``skip_existing`` says so."""
        if spec.prefetch:
            yield from self._plan_prefetch(spec, ctx)
            return
        where = f"{spec.urls_file}:" if spec.urls_file is not None else "urls["
        errors: list[Action[FetchOp]] = []  # two URLs for one key: rare, listed after the fetches

        def unique(seen: SeenKeys) -> Iterator[UrlLine]:
            for line in _url_lines(spec):
                first = seen.first_line(line.key, line.line)
                if first is None:
                    yield line
                    continue
                ref = f"{where}{line.line}" + ("]" if spec.urls_file is None else "")
                errors.append(Action(spec.name, ERROR_OP, f"{line.key} ({line.url})", 0, 0, {
                    "url": line.url, "message": f"{ref}: key {line.key!r} is also the target of line {first}"}))

        with SeenKeys() as seen:
            # streamed in stat-sized chunks: memory stays flat for a million-line urls_file
            for chunk in _chunks(unique(seen), MAX_BATCH):
                existing = _existing(ctx, spec.bucket, [u.key for u in chunk]) if spec.skip_existing else {}
                for line in chunk:
                    params: dict[str, object] = {"url": line.url, "line": line.line,
                                                 **({"hash": line.hash} if line.hash else {})}
                    stat = existing.get(line.key)
                    if stat is not None and _same_hash(spec.skip_existing, line.hash, stat):
                        yield Action(spec.name, "skip", line.key, int(stat.get("fsize", 0)), 0,
                                     {**params, "reason": "exists"})
                    else:
                        yield Action(spec.name, "fetch", line.key, 0, 0, params)
        yield from errors
        self._start_exports(spec, ctx)  # after the last line was read: urls_file may be the failure file

    def _plan_prefetch(self, spec: FetchJob, ctx: JobContext[FetchJob]) -> Iterator[Action[FetchOp]]:
        if spec.keys is not None:
            keys: Iterator[tuple[int, str]] = ((i, k) for i, k in enumerate(spec.keys, start=1))
        elif spec.keys_file is not None:
            keys = ((line.line, line.key) for line in read_keys_file(spec.keys_file, pairs=False))
        else:  # the model requires keys or keys_file with prefetch
            keys = iter(())
        def unique(seen: SeenKeys) -> Iterator[tuple[int, str]]:
            for number, key in keys:
                if seen.first_line(key, number) is None:
                    yield number, key

        with SeenKeys() as seen:
            # skip_existing (any mode: a prefetch has no expected hash) warms only missing keys
            for chunk in _chunks(unique(seen), MAX_BATCH):
                existing = _existing(ctx, spec.bucket, [k for _n, k in chunk]) if spec.skip_existing else {}
                for number, key in chunk:
                    stat = existing.get(key)
                    if stat is not None:
                        yield Action(spec.name, "skip", key, int(stat.get("fsize", 0)), 0,
                                     {"line": number, "reason": "exists"})
                    else:
                        yield Action(spec.name, "prefetch", key, 0, 0, {"line": number})
        self._start_exports(spec, ctx)  # after the last line was read: keys_file may be an export

    @staticmethod
    def _start_exports(spec: FetchJob, ctx: JobContext[FetchJob]) -> None:
        # only a real run rewrites the export files; called once the input was read to its end
        if ctx.run_id and not ctx.dry_run:
            for path in (spec.success_file, spec.failure_file):
                if path is not None:
                    EXPORTS.start(ctx.run_id, Path(path))

    def run(self, actions: Sequence[Action], ctx: JobContext[FetchJob]) -> list[Outcome]:
        """Fetch (sync or async) or prefetch each action; one outcome each."""
        spec = ctx.spec
        if spec.mode == "async" and not spec.prefetch:
            outcomes = _run_async(actions, ctx)
        else:
            outcomes = [self._one(a, ctx) for a in actions]
        by_id = {a.id: a for a in actions}
        for o in outcomes:
            _export(ctx, by_id[o.action_id], o)
        return outcomes

    @staticmethod
    def _one(action: Action, ctx: JobContext[FetchJob]) -> Outcome:
        spec = ctx.spec
        attempt = _TRIES.next(ctx.run_id, action.id)
        try:
            if action.op == "prefetch":
                ctx.client.fetch.prefetch(spec.bucket, action.key)
                return Outcome(action.id, "done")
            res = ctx.client.fetch.fetch(action.params["url"], spec.bucket, action.key, host=spec.host)
            if spec.file_type:
                ctx.client.rs.chtype(spec.bucket, action.key, spec.file_type)
        except RunFatalError:
            raise
        except KodoError as exc:
            return outcome_for_error(action, exc, attempt=attempt, attempts=max_attempts(spec))
        return Outcome(action.id, "done", bytes=res.fsize,
                       result={"hash": res.hash, "fsize": res.fsize, "mimeType": res.mime_type})


def _task_key(spec: FetchJob, action: Action) -> str:
    return f"fetch-task\x1f{spec.bucket}\x1f{action.key}\x1f{action.params['url']}"


def _run_async(actions: Sequence[Action], ctx: JobContext[FetchJob]) -> list[Outcome]:
    """Queue (or find the queued) task of each action, then poll them all until processed."""
    spec = ctx.spec
    attempts = max_attempts(spec)
    outcomes: dict[str, Outcome] = {}
    tasks: dict[str, tuple[Action, str]] = {}
    for action in actions:
        task_id = ctx.state.get_value(_task_key(spec, action))
        if task_id:
            tasks[action.id] = (action, task_id)
            continue
        attempt = _TRIES.next(ctx.run_id, action.id)
        expected = action.params.get("hash")
        request = AsyncFetchRequest(
            urls=(action.params["url"],), bucket=spec.bucket, key=action.key, host=spec.host,
            md5=expected if spec.skip_existing == "md5" else None,
            etag=expected if spec.skip_existing == "etag" else None,
            callback_url=str(spec.callback_url) if spec.callback_url else None, callback_body=spec.callback_body,
            callback_body_type=spec.callback_body_type, callback_host=spec.callback_host,
            file_type=spec.file_type, ignore_same_key=True if spec.skip_existing in (True, "key") else None)
        try:
            task = ctx.client.fetch.async_fetch(request)
        except RunFatalError:
            raise
        except KodoError as exc:
            outcomes[action.id] = outcome_for_error(action, exc, attempt=attempt, attempts=attempts)
            continue
        ctx.state.set_value(_task_key(spec, action), task.id)
        tasks[action.id] = (action, task.id)
    deadline = time.monotonic() + ASYNC_TIMEOUT_S
    pause = 0.1
    while tasks:
        for aid, (action, task_id) in list(tasks.items()):
            try:
                task = ctx.client.fetch.async_fetch_status(task_id, spec.bucket)
            except RunFatalError:
                raise
            except KodoError as exc:
                ctx.state.set_value(_task_key(spec, action), None)
                outcomes[aid] = outcome_for_error(action, exc, attempt=attempts, attempts=attempts)
                del tasks[aid]
                continue
            if task.done:
                ctx.state.set_value(_task_key(spec, action), None)
                outcomes[aid] = _check_stored(action, ctx, task_id)
                del tasks[aid]
        if not tasks:
            break
        if ctx.stop_requested() or time.monotonic() > deadline:
            for aid, (_action, task_id) in tasks.items():
                outcomes[aid] = Outcome(aid, "failed", message=(
                    f"async fetch task {task_id} still queued; the next run polls it again (not re-queued)"),
                    result={"task_id": task_id})
            break
        time.sleep(pause)
        pause = min(pause * 2, 2.0)
    return [outcomes[a.id] for a in actions]


def _check_stored(action: Action, ctx: JobContext[FetchJob], task_id: str) -> Outcome:
    """An async task says only that it was processed: the object must exist to call it done."""
    try:
        stat = ctx.client.rs.stat(ctx.spec.bucket, action.key)
    except NotFound:
        return Outcome(action.id, "failed", code=478, message=(
            f"async fetch task {task_id} ended but {action.key!r} was not stored (source failed?)"),
            result={"task_id": task_id})
    return Outcome(action.id, "done", bytes=stat.fsize,
                   result={"task_id": task_id, "hash": stat.hash, "fsize": stat.fsize})


def _export(ctx: JobContext[FetchJob], action: Action, outcome: Outcome) -> None:
    spec = ctx.spec
    columns = (action.key,) if action.op == "prefetch" else (str(action.params.get("url", "")), action.key)
    if outcome.status == "done" and spec.success_file is not None:
        EXPORTS.success(ctx.run_id, Path(spec.success_file), columns)
    elif outcome.status == "failed" and spec.failure_file is not None:
        EXPORTS.failure(ctx.run_id, Path(spec.failure_file), columns, outcome.code, outcome.message)


KIND: JobKind[FetchJob] = FetchKind()
