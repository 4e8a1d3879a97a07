"""Running a download sync's actions: fetch, check and install each object; delete local files.

Each object goes to ``<file>.kjpart`` beside its target (same filesystem, so the
final ``os.replace`` is atomic), then it is checked (:mod:`.download_check`: the qetag, a v2
hash recomputed with the object's own part sizes, or an md5; an object none of these can
check is never resumed and is marked unverified in the report), its mtime set to the object's
put time (so ``size-mtime`` compares converge) and it is renamed over the target. The part
file's name and the object's hash are saved in the checkpoint *before* the first byte
arrives, so a killed run continues with ``Range: bytes=<part size>-`` as long as the object
still has that hash; a part as long as the object is checked and renamed without a request,
and resumed bytes that fail the check are fetched whole once more. A write error fails only
its key and removes the part file. Private buckets get a freshly signed URL per request whose
deadline is ``download.url_ttl`` from now (widened by a measured clock skew, see kodo/clock.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.jobs.sync.download import PART_SUFFIX, local_path
from kodo_jobs.jobs.sync.download_check import Check, choose, digest
from kodo_jobs.jobs.sync.hashing import HashRequest, cache_path
from kodo_jobs.kodo import errors as kodo_errors
from kodo_jobs.kodo.download import DownloadResult, download_to

if TYPE_CHECKING:
    from kodo_jobs.manifest.spec_sync import SyncJob


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


__all__ = ["object_url", "run"]
