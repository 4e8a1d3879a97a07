"""``kind: sync`` with ``direction: download``: make a local folder mirror a bucket prefix.

The mirror image of the upload sync, built from the same parts: the bucket prefix is listed
(rsf, key order) and the folder walked (:mod:`.walk`, key order), the two streams are marched
(:mod:`.march`) and each key gets one verdict from :mod:`.compare`, with the *object* as
the source and the *file* as the destination:

========= ===== ==========================================================================
op        phase meaning
========= ===== ==========================================================================
download  0     no local file: fetch the object
update    0     the file differs (compare mode): fetch the object again
same      -     equal: counted, never executed
delete    1     a local file with no object (only with ``delete: true``, ``max_delete``)
skip      -     filtered keys/files, directory markers (keys ending in ``/``)
error     -     a key that cannot be a safe local path (``../``, absolute, ``\\``, NUL...)
========= ===== ==========================================================================

Safety: a key becomes ``<folder>/<key minus prefix>`` only when every path component is a
plain name: no ``..``/``.``/empty components, no leading ``/``, no backslash, NUL or drive
letter, and the resolved path stays inside the folder. Anything else is a planned ``error``
naming the key; it is never written and it blocks the delete phase (like every planned error).

Keys that would share a local path (case-folded, or a file where another key needs a
directory) are planned errors (:meth:`.download_names.LocalNames.collision`).

Running (:mod:`.download_run`): each object goes to a ``<file>.kjpart`` part file beside its
target, is checked, and renamed over the target; a killed run resumes the part file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action
from kodo_jobs.errors import EXIT_INVALID, JobInputError, KodoJobsError
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.jobs.ops import DownloadOp
from kodo_jobs.jobs.sync.compare import CompareMode, Side, Verdict, verdict
from kodo_jobs.jobs.sync.download_names import LocalNames
from kodo_jobs.jobs.sync.filters import PathFilter, PatternError
from kodo_jobs.jobs.sync.hashing import Hasher, HashRequest, HashResult
from kodo_jobs.jobs.sync.pairs import Pair, classified, list_prefix
from kodo_jobs.jobs.sync.walk import Filtered, LocalFile, SourceMissing, WalkError, WalkRecord, walk
from kodo_jobs.kodo import errors as kodo_errors
from kodo_jobs.textsafe import escape_text

if TYPE_CHECKING:
    from kodo_jobs.kodo.rsf import ListEntry
    from kodo_jobs.manifest.spec_sync import SyncJob

PART_SUFFIX = ".kjpart"
"""Suffix of partial downloads; such files are never synced, counted or deleted."""


class DownloadInputError(JobInputError):
    """The download sync cannot start (bad pattern, unsupported option): exit 2."""

    exit_code = EXIT_INVALID


class LocalDeleteLimitExceeded(KodoJobsError):
    """The plan would delete more local files than ``max_delete`` allows; nothing ran (exit 1)."""


def unsafe_reason(rel: str) -> str | None:
    """Why the relative path ``rel`` (a key minus the prefix) must not be written, or None.

    Pure string checks; :func:`local_path` adds the resolved-path check.
    """
    if not rel:
        return "empty name below the prefix"
    if "\x00" in rel:
        return "contains a NUL byte"
    if "\\" in rel:
        return "contains a backslash"
    if rel.startswith("/"):
        return "absolute path"
    if len(rel) >= 2 and rel[1] == ":" and rel[0].isalpha():
        return "drive-letter path"
    parts = rel.split("/")
    if any(p in ("..", ".") for p in parts):
        return "'..' or '.' path component (would escape or alias the target folder)"
    if any(p == "" for p in parts[:-1]):
        return "empty path component ('//')"
    if parts[-1].endswith(PART_SUFFIX):
        return f"name ends with {PART_SUFFIX} (reserved for partial downloads)"
    return None


def local_path(root: Path, rel: str) -> Path:
    """``root / rel`` after :func:`unsafe_reason` and a resolved-path containment check."""
    reason = unsafe_reason(rel)
    if reason is not None:
        raise ValueError(reason)
    target = root.joinpath(*PurePosixPath(rel).parts)
    resolved_root = root.resolve()
    if not target.resolve().is_relative_to(resolved_root):
        raise ValueError("resolves outside the target folder (symlinked directory?)")
    return target


_OPS: dict[Verdict, DownloadOp] = {Verdict.MISSING: "download", Verdict.DIFFER: "update", Verdict.MATCH: "same"}


class _Planner:
    """One planning pass of one download sync."""

    def __init__(self, spec: SyncJob, ctx: JobContext[SyncJob]) -> None:
        self.spec, self.ctx = spec, ctx
        self.job = str(spec.name)
        self.prefix = str(spec.prefix)
        self.root = Path(str(spec.source))
        try:
            self.filter = PathFilter(tuple(spec.include), tuple(spec.exclude))
        except PatternError as exc:
            raise DownloadInputError(f"job {self.job}: {exc}") from exc
        if spec.soft_delete is not None:
            raise DownloadInputError(f"job {self.job}: soft_delete only applies to direction: upload")
        if spec.download.base_url is None:
            try:  # before anything is listed or written: no domain, no download
                ctx.client.download_base(str(spec.bucket))
            except kodo_errors.NoDomain as exc:
                raise DownloadInputError(f"job {self.job}: {exc.message}") from exc
        self.hasher = Hasher(ctx.state)
        self.local_total = 0
        self.deletes = 0
        self.delete_samples: list[str] = []
        self.counts: dict[str, int] = {}
        self.names = LocalNames()
        """Local names planned so far (keys that would share a local path collide), on disk."""

    def local(self) -> Iterator[WalkRecord]:
        try:
            for rec in walk(str(self.root), prefix=self.prefix, path_filter=self.filter,
                            follow_symlinks=bool(self.spec.follow_symlinks)):
                if rec.key.endswith(PART_SUFFIX):
                    continue  # our own partial downloads
                if isinstance(rec, LocalFile):
                    self.local_total += 1
                yield rec
        except SourceMissing:
            return  # a folder that does not exist yet is an empty one: created on first download

    def remote(self) -> Iterator[ListEntry]:
        return list_prefix(self.ctx, self.spec, self.job, self.prefix)

    def want_hash(self, pair: Pair) -> HashRequest | None:
        local, remote = pair
        if not isinstance(local, LocalFile) or remote is None or self.spec.compare != "etag":
            return None
        if int(remote.fsize) != local.size or str(remote.hash).startswith("n"):
            return None
        return HashRequest(local.path, local.size, local.mtime_ns, 0)

    def actions(self) -> Iterator[Action[DownloadOp]]:
        return classified(self.job, self.local(), self.remote(), self.hasher, self.want_hash,
                          self.classify, self.counts)

    def classify(self, local: WalkRecord | None, remote: ListEntry | None,
                 hashed: HashResult | None) -> Action[DownloadOp] | None:
        job = self.job
        if isinstance(local, WalkError):
            if remote is not None and remote.key != local.key:
                return Action(job, "skip", str(remote.key), int(remote.fsize),
                              params={"reason": "its local directory could not be read"})
            return Action(job, "error", local.key, params={"path": local.path, "message": local.message})
        if remote is None:
            if isinstance(local, Filtered) or local is None:
                return None
            return self._extra_local(local)
        key = str(remote.key)
        rel = key[len(self.prefix):]
        if not self.filter.selects(rel):
            return Action(job, "skip", key, int(remote.fsize), params={"reason": "filtered"})
        if rel.endswith("/") and unsafe_reason(rel.rstrip("/")) is None:
            return Action(job, "skip", key, int(remote.fsize), params={"reason": "directory marker"})
        try:
            path = local_path(self.root, rel)
        except ValueError as exc:
            return Action(job, "error", key, int(remote.fsize),
                          params={"message": f"refused: key would not stay inside {self.root}: {exc}"})
        clash = self.names.collision(rel, key)
        if clash is not None:
            return Action(job, "error", key, int(remote.fsize), params={"message": f"not downloaded: {clash}"})
        params: dict[str, object] = {"path": str(path), "hash": str(remote.hash),
                                  "put_time_ns": int(remote.put_time_100ns) * 100}
        if getattr(remote, "md5", ""):  # test fakes of a listing entry may lack it
            params["md5"] = str(remote.md5)
        if local is None or isinstance(local, Filtered):
            return Action(job, "download", key, int(remote.fsize), params=params)
        source = Side(int(remote.fsize), int(remote.put_time_100ns) * 100, str(remote.hash))
        dest = Side(local.size, local.mtime_ns)
        mode: CompareMode = self.spec.compare
        if mode == "etag" and source.size == dest.size:
            if hashed is None:  # a v2 hash of unknown part size: fall back to size + put time
                mode = "size-mtime"
                dest = Side(local.size, local.mtime_ns)
            elif hashed.etag is None:
                return Action(job, "error", key, local.size,
                              params={"path": local.path, "message": hashed.error or "cannot hash"})
            else:
                dest = Side(local.size, local.mtime_ns, hashed.etag)
        params.update(local_size=local.size, local_mtime_ns=local.mtime_ns)
        if mode == "size-mtime" and source.size == dest.size:
            # a file we downloaded carries the put time as its mtime: equal times are equal files
            result = Verdict.DIFFER if source.time_ns != dest.time_ns else Verdict.MATCH
        else:
            result = verdict(source, dest, mode)
        op = _OPS[result]
        return Action(job, op, key, int(remote.fsize), params=params)

    def _extra_local(self, local: LocalFile) -> Action[DownloadOp] | None:
        if not self.spec.delete:
            return None
        self.deletes += 1
        if len(self.delete_samples) < 5:
            self.delete_samples.append(local.path)
        return Action(self.job, "delete", local.key, local.size, phase=1,
                      params={"path": local.path, "local_size": local.size, "local_mtime_ns": local.mtime_ns})

    def check_delete_limit(self) -> None:
        from kodo_jobs.manifest.types import resolve_limit

        limit = resolve_limit(self.spec.max_delete, self.local_total)
        if limit is None or self.deletes <= limit:
            return
        raise LocalDeleteLimitExceeded(
            f"job {self.job}: refusing to delete {self.deletes} of {self.local_total} local file(s) under "
            f"{self.root}: max_delete is {self.spec.max_delete} (= {limit}). Nothing was changed. Check "
            f"`bucket:`/`prefix:` first; if intended, raise max_delete. First files: "
            + ", ".join(escape_text(p) for p in self.delete_samples))


def plan(spec: SyncJob, ctx: JobContext[SyncJob]) -> Iterator[Action[DownloadOp]]:
    """Stream the download sync's actions; raises :class:`LocalDeleteLimitExceeded` at the end."""
    planner = _Planner(spec, ctx)
    with planner.names:
        yield from planner.actions()
    planner.check_delete_limit()
    if ctx.log is not None:
        ctx.log.info("sync planned", job=planner.job, direction="download", local_files=planner.local_total,
                     hashed_files=planner.hasher.hashed_files, hash_cache_hits=planner.hasher.cache_hits,
                     **planner.counts)


__all__ = ["PART_SUFFIX", "DownloadInputError", "LocalDeleteLimitExceeded", "local_path", "plan",
           "unsafe_reason"]
