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

Running: each object goes to ``<file>.kjpart`` beside its target (same filesystem, so the
final ``os.replace`` is atomic), then it is checked (:mod:`.download_check`: the qetag, a v2
hash recomputed with the object's own part sizes, or an md5; an object none of these can
check is never resumed and is marked unverified in the report), its mtime set to the object's
put time (so ``size-mtime`` compares converge) and it is renamed over the target. The part
file's name and the object's hash are saved in the checkpoint *before* the first byte
arrives, so a killed run continues with ``Range: bytes=<part size>-`` as long as the object
still has that hash; a part as long as the object is checked and renamed without a request,
and resumed bytes that fail the check are fetched whole once more. Keys that would share a
local path (case-folded, or a file where another key needs a directory) are planned errors
(:meth:`.download_names.LocalNames.collision`); a write error at run time fails only its key and removes the
part file. Private buckets get a freshly signed URL per request whose
deadline is ``download.url_ttl`` from now (widened by a measured clock skew, see kodo/clock.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.errors import EXIT_INVALID, JobInputError, KodoJobsError
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.jobs.ops import DownloadOp
from kodo_jobs.jobs.sync.compare import CompareMode, Side, Verdict, verdict
from kodo_jobs.jobs.sync.download_check import Check, choose, digest
from kodo_jobs.jobs.sync.download_names import LocalNames
from kodo_jobs.jobs.sync.filters import PathFilter, PatternError
from kodo_jobs.jobs.sync.hashing import Hasher, HashRequest, HashResult, cache_path
from kodo_jobs.jobs.sync.pairs import Pair, classified, list_prefix
from kodo_jobs.jobs.sync.walk import Filtered, LocalFile, SourceMissing, WalkError, WalkRecord, walk
from kodo_jobs.kodo import errors as kodo_errors
from kodo_jobs.kodo.download import DownloadResult, download_to
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


# -- running -----------------------------------------------------------------------------------

def object_url(ctx: JobContext[SyncJob], key: str) -> str:
    """The URL to GET ``key`` from: the job's ``download.base_url``, else one of the bucket's
    domains (``KodoClient.download_base``: the rule is in kodo/domains.py; the emulator's
    ``/dl/<bucket>`` route for an endpoint target), signed for a private bucket or with the CDN
    timestamp anti-leech key when configured."""
    spec = ctx.spec
    opts = spec.download
    if opts.base_url is not None:
        base = str(opts.base_url).rstrip("/")
    else:
        base = ctx.client.download_base(str(spec.bucket)).rstrip("/")
    ttl = int(float(opts.url_ttl))
    if opts.anti_leech_key is not None:
        deadline = int(ctx.client.slack.now()) + max(1, ttl)  # widened by a measured skew
        return str(ctx.client.urls.antileech(base, key, opts.anti_leech_key.get_secret_value(), deadline))
    url = str(ctx.client.urls.public(base, key))
    if spec.private:
        return str(ctx.client.urls.private(url, expires=max(1, ttl)))
    return url


def _failed(action: Action, message: str) -> Outcome:
    return Outcome(action.id, "failed", message=message)


def run(actions: Sequence[Action], ctx: JobContext[SyncJob]) -> list[Outcome]:
    """Downloads one by one; local deletes one by one (each is a cheap unlink)."""
    out: list[Outcome] = []
    for action in actions:
        if action.op in ("download", "update"):
            ctx.events.file_started(action)
            try:
                out.append(_download(action, ctx))
            finally:
                ctx.events.file_finished(action)
        elif action.op == "delete":
            out.append(_delete_local(action, ctx))
        else:
            out.append(Outcome(action.id, "skipped", message=f"{action.op}: nothing to run"))
    return out


def _delete_local(action: Action, ctx: JobContext[SyncJob]) -> Outcome:
    from kodo_jobs.jobs.sync.trust import Untrusted, walked_path

    spec = ctx.spec
    try:  # checked again right before unlinking: only a file inside the folder, named by the key
        path = Path(walked_path(str(spec.source), action.key[len(str(spec.prefix)):], str(action.params["path"]),
                                follow_symlinks=bool(spec.follow_symlinks)))
    except Untrusted as exc:
        return _failed(action, f"refused: {exc}")
    try:
        st = path.stat()
    except FileNotFoundError:
        return Outcome(action.id, "skipped", message="already gone")
    if st.st_size != action.params.get("local_size") or st.st_mtime_ns != action.params.get("local_mtime_ns"):
        return _failed(action, f"{path} changed since it was planned for deletion; kept")
    path.unlink()
    return Outcome(action.id, "done")


def _download(action: Action, ctx: JobContext[SyncJob]) -> Outcome:
    root = Path(str(ctx.spec.source))
    try:  # checked again right before writing: the plan may come from a saved file
        path = local_path(root, action.key[len(str(ctx.spec.prefix)):])
    except ValueError as exc:
        return _failed(action, f"refused: key would not stay inside {root}: {exc}")
    part = path.with_name(path.name + PART_SUFFIX)
    try:
        return _fetch_check_install(action, ctx, path, part)
    except OSError as exc:  # a directory in the way, a full disk...: this key fails, no part file stays
        _discard(action, ctx, part)
        what = "a directory is in the way" if path.is_dir() else (exc.strerror or str(exc))
        return _failed(action, f"cannot write {path}: {what}")


def _discard(action: Action, ctx: JobContext[SyncJob], part: Path) -> None:
    part.unlink(missing_ok=True)
    ctx.state.drop_upload(action.id)


def _check_for(action: Action, ctx: JobContext[SyncJob], want_hash: str, size: int) -> Check:
    """The check the finished file must pass (:mod:`.download_check`); a v2 hash costs one stat."""
    if not want_hash.startswith("n"):
        return choose(want_hash, size, None, "")
    st = ctx.client.rs.stat(str(ctx.spec.bucket), action.key, needparts=True)
    if st.hash != want_hash or st.fsize != size:
        raise _Changed(f"the object changed since it was planned (hash {st.hash}); run again")
    raw_parts = st.raw.get("parts")
    parts = [int(p) for p in raw_parts] if isinstance(raw_parts, list) else None
    return choose(want_hash, size, parts, str(action.params.get("md5") or st.md5 or ""))


class _Changed(Exception):
    """The object is not the one planned: this key fails, the next run plans it again."""


def _fetch_check_install(action: Action, ctx: JobContext[SyncJob], path: Path, part: Path) -> Outcome:
    want_hash = str(action.params.get("hash", ""))
    size = int(action.size)
    try:
        check = _check_for(action, ctx, want_hash, size)
    except _Changed as exc:
        return _failed(action, str(exc))
    if path.is_dir():
        return _failed(action, f"cannot write {path}: a directory is in the way (another key has it as folder)")
    offset = _resume_offset(action, ctx, part, want_hash, size) if check.resumable else 0
    written = 0
    resumed_at: int | None = None
    while True:
        if offset < size or size == 0:
            got = _fetch(action, ctx, path, part, want_hash, size, offset)
            written += got.written
            if got.resumed:
                resumed_at = offset
        # else: a complete part file (killed after its last byte): checked below, never re-requested
        have = part.stat().st_size
        value = digest(part, check) if have == size else ""
        if have == size and value == check.expected:
            break
        _discard(action, ctx, part)
        if offset > 0:  # the kept bytes were bad (damaged while the run was dead): fetch it whole once
            offset, resumed_at = 0, None
            continue
        if have != size:
            return _failed(action, f"got {have} bytes, the listing said {size}: the object changed; run again")
        return _failed(action, f"downloaded content has {check.method} {value}, expected {check.expected}: the "
                               "object changed while it was read, or the bytes were damaged; run again")
    _install(part, path, int(action.params.get("put_time_ns", 0)))
    st = path.stat()
    etag = want_hash if check.method in ("etag", "etag-v2") else ""
    if etag:
        ctx.state.remember_etag(cache_path(HashRequest(str(path), st.st_size, st.st_mtime_ns)), st.st_size,
                                st.st_mtime_ns, etag)
    ctx.state.drop_upload(action.id)
    result: dict[str, object] = {"hash": want_hash, "verified": check.method}
    if check.method == "none":
        result["unverified"] = check.reason
        if ctx.log is not None:
            ctx.log.warning("download not verified", key=action.key, reason=check.reason)
    if resumed_at is not None:
        result["resumed_at"] = resumed_at
    return Outcome(action.id, "done", bytes=written, result=result)


def _fetch(action: Action, ctx: JobContext[SyncJob], path: Path, part: Path, want_hash: str, size: int,
           offset: int) -> DownloadResult:
    """GET the object into ``part`` from ``offset`` (the session is saved before the first byte)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ctx.state.save_upload(action.id, json.dumps({"kind": "download", "part": str(part), "hash": want_hash,
                                                 "size": size}))

    def on_bytes(n: int) -> None:
        ctx.events.progress(n)  # the run's job limits pace bandwidth on these events

    with open(part, "r+b" if offset else "wb") as f:
        f.seek(offset)
        try:
            return download_to(ctx.client.http, object_url(ctx, action.key), f, offset=offset, on_bytes=on_bytes)
        except kodo_errors.KodoError:
            if f.tell() == 0:  # nothing to resume from: leave no empty part file behind
                _discard(action, ctx, part)
            raise


def _install(part: Path, path: Path, put_ns: int) -> None:
    """Give the checked part file the object's put time and rename it over the target (atomic)."""
    if put_ns > 0:
        os.utime(part, ns=(put_ns, put_ns))
    os.replace(part, path)


def _resume_offset(action: Action, ctx: JobContext[SyncJob], part: Path, want_hash: str, size: int) -> int:
    """Bytes of ``part`` that can be kept: the saved session is for the same object hash.

    A part as long as the object is kept whole (checked, then renamed: never re-requested).
    """
    saved = ctx.state.load_upload(action.id)
    if not saved:
        return 0
    try:
        doc = json.loads(saved)
        have = part.stat().st_size
    except (ValueError, OSError):
        return 0
    if doc.get("hash") != want_hash or doc.get("part") != str(part) or have > size:
        return 0
    return have


__all__ = ["PART_SUFFIX", "DownloadInputError", "LocalDeleteLimitExceeded", "local_path", "object_url", "plan",
           "run", "unsafe_reason"]
