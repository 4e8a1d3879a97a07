"""The ``sync`` job kind: make a bucket prefix mirror a local folder.

Planning (read-only; see docs/sync.md): walk the folder in key order (:mod:`.walk`), list
the prefix with rsf in the same order, march the two streams (:mod:`.march`), look up or
compute the etags the verdict needs (:mod:`.hashing`, hash cache first) and give each key one
verdict (:mod:`.compare`), turned into one action:

========= ===== ========================================================================
op        phase meaning
========= ===== ========================================================================
upload    0     the object is missing
update    0     the object differs (compare mode)
same      -     equal: recorded and counted, never executed
delete    1     the object has no local file (only with ``delete: true``)
skip      -     a filtered file or key, a symlink not followed, a special file
error     -     something could not be read; blocks the delete phase of the job
========= ===== ========================================================================

Everything streams: the walk, the listing and the march hold a directory listing and one page
of keys at a time, and actions go straight into the checkpoint.

Running: uploads run one action per call (the executor's pool gives the concurrency); each
builds an upload token for its own key, resumes a saved chunked upload when the file's
fingerprint still matches, checks the hash Kodo returns against the local etag and re-plans a
file that changed while it was sent. Deletes are grouped into rs batches of up to 1000 ops.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import closing
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.errors import EXIT_INVALID, JobInputError, KodoJobsError
from kodo_jobs.jobs import soft_delete
from kodo_jobs.jobs.base import JobContext, JobKind
from kodo_jobs.jobs.ops import SyncOp
from kodo_jobs.jobs.sync import delete as sync_delete
from kodo_jobs.jobs.sync import execute as sync_exec
from kodo_jobs.jobs.sync import once as sync_once
from kodo_jobs.jobs.sync.compare import Side, Verdict, needs_etag, verdict
from kodo_jobs.jobs.sync.execute import hash_part_size
from kodo_jobs.jobs.sync.filters import PathFilter, PatternError
from kodo_jobs.jobs.sync.hashing import Hasher, HashRequest, HashResult
from kodo_jobs.jobs.sync.pairs import Pair, classified, list_prefix
from kodo_jobs.jobs.sync.walk import Filtered, LocalFile, SourceMissing, WalkError, WalkRecord, walk
from kodo_jobs.textsafe import escape_text

if TYPE_CHECKING:
    from kodo_jobs.kodo.rsf import ListEntry
    from kodo_jobs.manifest.spec_sync import SyncJob

DELETE_BATCH = 1000
"""rs batch size of the delete phase (Kodo's maximum)."""
MAX_KEY_BYTES = 750
"""Kodo's key length limit (UTF-8 bytes)."""


def _too_long(key: str) -> bool:
    return len(key.encode("utf-8")) > MAX_KEY_BYTES


class SyncInputError(JobInputError):
    """The sync cannot start: missing source folder, bad pattern, unsupported option (exit 2)."""

    exit_code = EXIT_INVALID


class DeleteLimitExceeded(KodoJobsError):
    """The plan would delete more objects than ``max_delete`` allows; nothing was run (exit 1)."""


_OPS: dict[Verdict, SyncOp] = {Verdict.MISSING: "upload", Verdict.DIFFER: "update", Verdict.MATCH: "same"}


def _remote_side(entry: ListEntry) -> Side:
    return Side(entry.fsize, entry.put_time_100ns * 100, entry.hash)


def _hash_part_size(remote_hash: str, spec: SyncJob, size: int) -> int | None:
    """Which local hash the remote object's hash can be compared with.

    0: the plain qetag. A v2 upload with parts other than 4 MiB stores a ``0x9e`` hash (base64
    ``n...``) that depends on the part size: compare with our own if this job uploads such a
    file that way, else the hashes cannot be compared (None: treat the object as different;
    after our upload it has our kind of hash and the next sync converges).
    """
    if not remote_hash.startswith("n"):
        return 0
    part = hash_part_size(spec, size)
    return part if part > 0 else None


PRUNE_FILTERED_EVERY = 24 * 3600.0
"""Seconds between hash-cache prunes of a filtered sync's folder (see ``_Planner.prune_hash_cache``)."""


class _Planner:
    """One planning pass of one sync job (counters for the log line and the delete limit)."""

    def __init__(self, spec: SyncJob, ctx: JobContext[SyncJob]) -> None:
        self.spec = spec
        self.ctx = ctx
        self.job = str(spec.name)
        self.prefix = str(spec.prefix)
        try:
            self.filter = PathFilter(tuple(spec.include), tuple(spec.exclude))
        except PatternError as exc:
            raise SyncInputError(f"job {self.job}: {exc}") from exc
        self.hasher = Hasher(ctx.state)
        self.compare = spec.compare
        self.by_etag = spec.compare == "etag"
        self.all_selected = self.filter.is_empty
        self.remote_total = 0
        self.deletes = 0
        self.delete_samples: list[str] = []
        self.counts: dict[str, int] = {}
        self.walked_files = 0
        """Regular files the walk yielded (selected by the filters)."""
        self.walk_complete = True
        """False once the walk reported an error: some file under the source was not seen."""

    # -- the two streams ---------------------------------------------------------------------

    def local(self) -> Iterator[WalkRecord]:
        try:
            yield from walk(str(self.spec.source), prefix=self.prefix, path_filter=self.filter,
                            follow_symlinks=bool(self.spec.follow_symlinks))
        except SourceMissing as exc:
            raise SyncInputError(f"job {self.job}: {exc}; fix `source:` in the manifest") from exc

    def walked_paths(self) -> Iterator[str]:
        """The paths of the files a plan walks, walked again (in key order, constant memory).

        For pruning the hash cache after a plan (``Checkpoint.prune_hash_cache(source,
        walked_paths(), walked_files)``): only after a plan whose ``walk_complete`` is true, and
        before the tree changes; the count tells the checkpoint how many to expect.
        """
        for rec in walk(str(self.spec.source), prefix=self.prefix, path_filter=self.filter,
                        follow_symlinks=bool(self.spec.follow_symlinks)):
            if type(rec) is LocalFile:
                yield rec.path

    def prune_hash_cache(self) -> int:
        """After a complete walk of a real run: forget the cached etags of files that are gone, so
        the state file stays bounded on a cron schedule (cheap when nothing is stale: one count).

        A filtered walk keeps the rows its filters do not cover (another job may sync other
        files of the same folder) and prunes at most once a day: with a shared folder the
        cheap count cannot rule stale rows out, and the full prune walks the tree again.
        """
        source = str(self.spec.source)
        covers = None
        if not self.all_selected:
            import time

            mark = f"hash-cache-pruned:{source}"
            last = self.ctx.state.get_value(mark)
            if last is not None and time.time() - float(last) < PRUNE_FILTERED_EVERY:
                return 0
            self.ctx.state.set_value(mark, str(time.time()))
            base = len(source.rstrip("/")) + 1

            def covers_path(path: str) -> bool:
                return self.filter.selects(path[base:])

            covers = covers_path
        return self.ctx.state.prune_hash_cache(source, self.walked_paths(), self.walked_files, covers)

    def remote(self) -> Iterator[ListEntry]:
        with closing(list_prefix(self.ctx, self.spec, self.job, self.prefix)) as entries:
            for entry in entries:
                self.remote_total += 1
                yield entry

    # -- verdicts ------------------------------------------------------------------------------

    def want_hash(self, pair: Pair) -> HashRequest | None:
        local, remote = pair
        if remote is None or type(local) is not LocalFile or not self.by_etag or remote.fsize != local.size:
            return None
        if not self.all_selected and not self._remote_selected(remote):
            return None
        part_size = _hash_part_size(remote.hash, self.spec, local.size)
        if part_size is None:
            return None
        return HashRequest(local.path, local.size, local.mtime_ns, part_size)

    def _remote_selected(self, entry: ListEntry) -> bool:
        return self.filter.selects(str(entry.key)[len(self.prefix):])

    def actions(self) -> Iterator[Action[SyncOp]]:
        return classified(self.job, self.local(), self.remote(), self.hasher, self.want_hash,
                          self.classify, self.counts)

    def classify(self, local: WalkRecord | None, remote: ListEntry | None,
                 hashed: HashResult | None) -> Action[SyncOp] | None:
        if type(local) is LocalFile:
            self.walked_files += 1
            if len(local.key) > MAX_KEY_BYTES // 4 and _too_long(local.key):
                return Action(self.job, "error", local.key, local.size,
                              params={"path": local.path, "message": f"key longer than {MAX_KEY_BYTES} bytes"})
            if remote is None:  # the common case of a first sync, kept short
                return Action(self.job, "upload", local.key, local.size,
                              params={"path": local.path, "mtime_ns": local.mtime_ns})
            return self._compare(local, remote, hashed)
        return self._classify_other(local, remote)

    def _compare(self, local: LocalFile, remote: ListEntry, hashed: HashResult | None) -> Action[SyncOp]:
        """A file and its object: upload, update or same (the verdict of :mod:`.compare`)."""
        dest = _remote_side(remote)
        if hashed is None:
            source = Side(local.size, local.mtime_ns)
            if needs_etag(source, dest, self.compare):
                # the remote hash cannot be reproduced locally (another tool's v2 part size): differ
                source = Side(local.size, local.mtime_ns, "")
            params: dict[str, object] = {"path": local.path, "mtime_ns": local.mtime_ns, "remote_hash": dest.etag}
        elif hashed.etag is None:
            return Action(self.job, "error", local.key, local.size,
                          params={"path": local.path, "message": hashed.error or "cannot hash"})
        else:
            source = Side(local.size, local.mtime_ns, hashed.etag)
            params = {"path": local.path, "mtime_ns": local.mtime_ns, "etag": hashed.etag, "remote_hash": dest.etag}
        return Action(self.job, _OPS[verdict(source, dest, self.compare)], local.key, local.size, params=params)

    def _classify_other(self, local: WalkRecord | None, remote: ListEntry | None) -> Action[SyncOp] | None:
        """Everything but a readable file: an unreadable one, a filtered one, a remote-only key."""
        job = self.job
        if isinstance(local, WalkError):
            self.walk_complete = False
            if remote is not None and remote.key != local.key:
                # below an unreadable directory: never deleted (the error also blocks phase 1)
                return Action(job, "skip", str(remote.key), int(remote.fsize),
                              params={"reason": "kept: its local directory could not be read"})
            return Action(job, "error", local.key, params={"path": local.path, "message": local.message})
        if isinstance(local, Filtered):
            return Action(job, "skip", local.key, params={"path": local.path, "reason": local.reason})
        assert local is None and remote is not None
        if not self._remote_selected(remote):
            return Action(job, "skip", str(remote.key), int(remote.fsize), params={"reason": "filtered"})
        if not self.spec.delete:
            return None
        soft = self.spec.soft_delete
        if soft is not None and soft.trash_prefix and str(remote.key).startswith(str(soft.trash_prefix)):
            return Action(job, "skip", str(remote.key), int(remote.fsize), params={"reason": "in the trash"})
        self.deletes += 1
        if len(self.delete_samples) < 5:
            self.delete_samples.append(str(remote.key))
        return Action(job, "delete", str(remote.key), int(remote.fsize), phase=1,
                      params=self._delete_params(remote))

    def _delete_params(self, remote: ListEntry) -> dict[str, str | int]:
        params: dict[str, str | int] = {"hash": str(remote.hash)}
        soft = self.spec.soft_delete
        if soft is not None and soft.trash_prefix is not None:
            params["trash_key"] = soft_delete.planned_trash_key(str(soft.trash_prefix), str(remote.key))
        elif soft is not None and soft.delete_after_days is not None:
            params["delete_after_days"] = int(soft.delete_after_days)
        return params

    def check_delete_limit(self) -> None:
        from kodo_jobs.manifest.types import resolve_limit

        limit = resolve_limit(self.spec.max_delete, self.remote_total)
        if limit is None or self.deletes <= limit:
            return
        shown = ", ".join(escape_text(k) for k in self.delete_samples) + (
            ", ..." if self.deletes > len(self.delete_samples) else "")
        raise DeleteLimitExceeded(
            f"job {self.job}: refusing to delete {self.deletes} of {self.remote_total} object(s) under "
            f"{self.spec.bucket}:{self.prefix or '(whole bucket)'}: max_delete is {self.spec.max_delete} "
            f"(= {limit}). Nothing was changed. Check `source:` ({self.spec.source}) first; if the deletes "
            f"are intended, raise `max_delete` (e.g. max_delete: {self.deletes}) or remove it. "
            f"First keys: {shown}")


class SyncKind:
    """The ``sync`` kind (registered as :data:`KIND`)."""

    kind = "sync"
    batch_size = 1
    """Uploads run one per call: the executor's pool is the concurrency."""
    phase_batch_sizes = {1: DELETE_BATCH}
    """Per-phase override for runners that support it: deletes go 1000 to an rs batch."""

    def plan(self, spec: SyncJob, ctx: JobContext[SyncJob]) -> Iterator[Action]:
        """Stream the sync's actions; raises :class:`DeleteLimitExceeded` at the end if needed."""
        if spec.direction == "download":
            from kodo_jobs.jobs.sync import download as sync_download  # the mirror image: bucket -> folder

            yield from sync_download.plan(spec, ctx)
            return
        from kodo_jobs.jobs.sync import touched  # `kodo-jobs watch` may restrict a plan to touched paths

        scope = touched.scope_for(str(spec.name))
        planner = touched.planner_for(spec, ctx, scope)
        actions = planner.actions()
        yield from sync_once.filtered(actions, ctx) if spec.upload_once else actions
        if scope is None:
            planner.check_delete_limit()
            if not ctx.dry_run and planner.walk_complete:  # a full walk: forget etags of files gone
                dropped = planner.prune_hash_cache()
                if dropped and ctx.log is not None:
                    ctx.log.info("hash cache pruned", job=planner.job, dropped=dropped)
        else:
            touched.planned(planner, scope)  # records what it saw, then the same limit and the watcher's window
        if ctx.log is not None:
            ctx.log.info("sync planned", job=planner.job, remote_objects=planner.remote_total,
                         walked_files=planner.walked_files,
                         hashed_files=planner.hasher.hashed_files, hashed_bytes=planner.hasher.hashed_bytes,
                         hash_cache_hits=planner.hasher.cache_hits, **planner.counts)

    def run(self, actions: Sequence[Action], ctx: JobContext[SyncJob]) -> list[Outcome]:
        """Uploads one by one; deletes in rs batches of up to 1000."""
        if ctx.spec.direction == "download":
            from kodo_jobs.jobs.sync import download_run

            return download_run.run(actions, ctx)
        outcomes: list[Outcome] = []
        deletes = [a for a in actions if a.op == "delete"]
        for action in actions:
            if action.op in ("upload", "update"):
                outcomes.append(sync_exec.upload(action, ctx))
                if ctx.spec.upload_once:
                    sync_once.remember(action, outcomes[-1], ctx)
            elif action.op != "delete":
                outcomes.append(Outcome(action.id, "skipped", message=f"{action.op}: nothing to run"))
        for start in range(0, len(deletes), DELETE_BATCH):
            outcomes.extend(sync_delete.delete_batch(deletes[start:start + DELETE_BATCH], ctx))
        return outcomes


KIND: JobKind[SyncJob] = SyncKind()


__all__ = ["KIND", "DeleteLimitExceeded", "SyncInputError", "SyncKind"]
