"""Plan a sync for a few touched paths only (``kodo-jobs watch``), with the verdicts of a full plan.

The watcher knows which paths changed; walking 100k files and listing 100k keys for each
change would make it as slow as a cron resync. A touched plan builds the same two key-sorted
streams as a full plan, restricted to a set of disjoint key ranges, and feeds them to the
same march/compare code (:func:`~kodo_jobs.jobs.sync.pairs.classified` and the planner's
``classify``), so filters, compare mode, put policy and delete rules cannot drift:

* a touched path ``p`` is a *point* (the key ``prefix + p``: one stat, one one-key listing)
  and, when it is a directory or is gone (it may have been one), a *range* (every key under
  ``prefix + p + "/"``: the existing walker below it, one prefix listing);
* ranges swallow the points and ranges below them; a directory with many touched files
  becomes one range (a listing beats a request per file);
* a path below an excluded directory, a symlinked directory that is not followed or a
  missing parent has no local record, exactly as the full walk never reaches it.

How the watcher asks for it: :func:`restricted` sets, for the duration of one batch, a
:class:`PlanScope` per job in a context variable that ``SyncKind.plan`` reads
(:func:`scope_for`). A context variable rather than a new planner argument keeps ``run``'s
code path untouched while the run machinery is being restructured; the planner also writes
back what it saw (object count, deletes) for the watcher's delete window.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kodo_jobs.jobs.sync import walk as walk_module
from kodo_jobs.jobs.sync.filters import PathFilter
from kodo_jobs.jobs.sync.kind import DeleteLimitExceeded, SyncInputError, _Planner
from kodo_jobs.jobs.sync.pairs import list_prefix
from kodo_jobs.jobs.sync.walk import Filtered, LocalFile, SourceMissing, WalkError, WalkRecord, readable, walk
from kodo_jobs.jobs.tries import policy_for
from kodo_jobs.kodo.retry import call_with_retries

if TYPE_CHECKING:
    from kodo_jobs.jobs.base import JobContext
    from kodo_jobs.kodo.rsf import ListEntry
    from kodo_jobs.manifest.spec_sync import SyncJob

PROMOTE_AT = 16
"""Touched files of one directory from which that directory is planned as one range."""
MAX_DEFERRED = 10_000
"""Files left out as "still being written" that a scope remembers (the watcher looks at them again)."""


@dataclass
class PlanScope:
    """What a watcher asks of one job's next plan, and what the planner reports back.

    ``paths``: source-relative paths (``/`` separators) to plan; None plans the whole tree.
    ``known_total``: objects under the job's prefix as the watcher last knew them; a touched
    plan lists only a few keys, and a percentage ``max_delete`` is a share of the whole prefix, not of
    the keys listed. ``delete_allowance``: deletes still allowed in the watcher's rolling
    window (None: no window limit).
    """

    paths: frozenset[str] | None = None
    known_total: int = 0
    delete_allowance: int | None = None
    modified_before_ns: int | None = None
    """A touched plan leaves out (``skip``, never delete) a file modified at or after this
    time: it may still be written (a file below a new folder has no quiet check of its own)."""
    deferred: list[str] = field(default_factory=list)
    """Written by the planner: the files it left out for that reason (at most MAX_DEFERRED)."""
    remote_total: int = 0
    """Written by the planner: objects listed (the prefix's count after a full plan)."""
    deletes: int = 0
    """Written by the planner: deletes planned."""
    planned: bool = False
    """Written by the planner: the plan ran to its end (``remote_total`` is complete)."""


_SCOPES: ContextVar[Mapping[str, PlanScope] | None] = ContextVar("kodo_jobs_sync_scopes", default=None)


@contextmanager
def restricted(scopes: Mapping[str, PlanScope]) -> Iterator[None]:
    """Within the block, sync plans of the jobs named in ``scopes`` follow their scope."""
    token = _SCOPES.set(scopes)
    try:
        yield
    finally:
        _SCOPES.reset(token)


def scope_for(job: str) -> PlanScope | None:
    """The scope the current caller set for ``job`` (None outside :func:`restricted`)."""
    scopes = _SCOPES.get()
    return None if scopes is None else scopes.get(job)


@dataclass(frozen=True, order=True)
class _Span:
    """One key range to plan: ``start`` is a key (point) or a ``key/`` prefix (range)."""

    start: str
    rel: str
    is_range: bool


def _nfc(rel: str) -> str:
    return unicodedata.normalize("NFC", rel) if not rel.isascii() else rel


def _valid(rel: str) -> bool:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def spans(root: str, paths: frozenset[str], prefix: str, follow: bool) -> list[_Span]:
    """The disjoint, key-ordered spans that cover ``paths`` (see the module docstring)."""
    points: set[str] = set()
    ranges: set[str] = set()
    for rel in paths:
        rel = rel.strip("/")
        if not rel or rel == ".":
            ranges.add("")  # the root itself: everything
            continue
        full = os.path.join(root, rel)
        try:
            isdir = os.path.isdir(full) if follow else stat.S_ISDIR(os.lstat(full).st_mode)
            gone = False
        except OSError:
            isdir, gone = False, True
        points.add(rel)
        if isdir or gone:
            ranges.add(rel)
    if "" in ranges:
        return [_Span(prefix, "", True)]
    by_parent: dict[str, int] = {}
    for rel in points:
        parent = rel.rpartition("/")[0]
        by_parent[parent] = by_parent.get(parent, 0) + 1
    for parent, count in by_parent.items():
        if count >= PROMOTE_AT:
            if not parent:
                return [_Span(prefix, "", True)]
            ranges.add(parent)
    kept = {r for r in ranges if not any(a in ranges for a in _ancestors(r))}
    out = [_Span(prefix + _nfc(r) + "/", r, True) for r in kept]
    # a range's own path stays a point too: it may be a file key (a file that replaced it, or a
    # symlink not followed, which the full walk lists as a file)
    out += [_Span(prefix + _nfc(rel), rel, False) for rel in points if not any(a in kept for a in _ancestors(rel))]
    out.sort()
    return out


def _ancestors(rel: str) -> list[str]:
    parts = rel.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def planner_for(spec: SyncJob, ctx: JobContext[SyncJob], scope: PlanScope | None) -> _Planner:
    """The planner of one sync plan: the full one, or the touched one of ``scope``."""
    if scope is None or scope.paths is None:
        return _Planner(spec, ctx)
    planner = TouchedPlanner(spec, ctx, scope.paths)
    planner.known_total = scope.known_total
    planner.scope = scope
    return planner


def planned(planner: _Planner, scope: PlanScope) -> None:
    """After a plan: report back what it saw, then check ``max_delete`` and the watcher's window.

    Raises :class:`DeleteLimitExceeded` (as ``max_delete`` does, before anything runs) when
    the deletes exceed ``max_delete`` or what the rolling window still allows."""
    scope.remote_total, scope.deletes, scope.planned = planner.remote_total, planner.deletes, True
    planner.check_delete_limit()
    allowance = scope.delete_allowance
    if allowance is None or planner.deletes <= allowance:
        return
    raise DeleteLimitExceeded(
        f"job {planner.job}: refusing to delete {planner.deletes} object(s) under "
        f"{planner.spec.bucket}:{planner.prefix or '(whole bucket)'}: with the deletes already made in the "
        f"watcher's delete window, that is beyond max_delete ({planner.spec.max_delete}; {allowance} left in "
        f"the window). Nothing was changed. Check `source:` ({planner.spec.source}); the next full re-plan "
        "checks again")


class TouchedPlanner(_Planner):
    """A sync planner whose two streams cover only the touched paths' spans."""

    def __init__(self, spec: SyncJob, ctx: JobContext[SyncJob], paths: frozenset[str]) -> None:
        super().__init__(spec, ctx)
        self.root = str(spec.source)
        self.follow = bool(spec.follow_symlinks)
        self.identity = walk_module.process_identity()  # once per batch, as the full walk does
        self.paths = paths
        self.known_total = 0
        self.scope = PlanScope(paths=paths)
        self._spans: list[_Span] | None = None

    @property
    def spans(self) -> list[_Span]:
        """The key-ordered spans of the touched paths, computed once (the first stream asks)."""
        if self._spans is None:
            if not os.path.isdir(self.root):
                kind = "does not exist" if not os.path.lexists(self.root) else "is not a directory"
                raise SyncInputError(f"job {self.job}: source folder {self.root} {kind}; "
                                     "fix `source:` in the manifest")
            self._spans = spans(self.root, self.paths, self.prefix, self.follow)
        return self._spans

    def local(self) -> Iterator[WalkRecord]:
        limit = self.scope.modified_before_ns
        for record in self._local():
            if limit is not None and type(record) is LocalFile and record.mtime_ns >= limit:
                if len(self.scope.deferred) < MAX_DEFERRED:
                    self.scope.deferred.append(os.path.relpath(record.path, self.root).replace(os.sep, "/"))
                yield Filtered(record.key, record.path, "still being written")
            else:
                yield record

    def _local(self) -> Iterator[WalkRecord]:
        filt: PathFilter = self.filter
        for span in self.spans:
            if span.rel and not self._reachable(span.rel, filt, include_self=span.is_range):
                continue
            if span.is_range:
                base = os.path.join(self.root, span.rel) if span.rel else self.root
                try:
                    yield from walk(base, prefix=span.start, follow_symlinks=self.follow,
                                    path_filter=_Rebased(filt, span.rel + "/" if span.rel else ""))
                except SourceMissing:
                    continue  # gone: every key below is remote-only
            else:
                record = self._point(span)
                if record is not None:
                    yield record

    def _reachable(self, rel: str, filt: PathFilter, *, include_self: bool) -> bool:
        """Whether the full walk would reach ``rel`` (parents exist, are admitted, not symlinks)."""
        dirs = _ancestors(rel) + ([rel] if include_self else [])
        for d in dirs:
            full = os.path.join(self.root, d)
            try:
                st = os.lstat(full)
                if stat.S_ISLNK(st.st_mode):
                    if not self.follow:
                        return False
                    st = os.stat(full)
            except OSError:
                return False
            if not stat.S_ISDIR(st.st_mode) or filt.dir_pruned(d):
                return False
        return True

    def _point(self, span: _Span) -> WalkRecord | None:
        rel, key, full = span.rel, span.start, os.path.join(self.root, span.rel)
        if not _valid(rel):
            shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            return WalkError(self.prefix + shown, full, "file name is not valid UTF-8", ordered=False)
        try:
            lst = os.lstat(full)
            if stat.S_ISLNK(lst.st_mode) and not self.follow:
                return Filtered(key, full, "symlink")
            st = os.stat(full) if self.follow else lst
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            return WalkError(key, full, f"cannot stat: {exc.strerror or type(exc).__name__}")
        if stat.S_ISDIR(st.st_mode):
            return None  # a directory's keys are its range's
        if not stat.S_ISREG(st.st_mode):
            return Filtered(key, full, "special file")
        filt: PathFilter = self.filter
        if not filt.is_empty and not filt.file_selected_in_walk(_nfc(rel)):
            return Filtered(key, full, "filtered")
        if not readable(st, *self.identity):
            return WalkError(key, full, "cannot read: permission denied")
        return LocalFile(key, full, st.st_size, st.st_mtime_ns)

    # -- remote ---------------------------------------------------------------------------------

    def remote(self) -> Iterator[ListEntry]:
        for span in self.spans:
            if span.is_range:
                with closing(list_prefix(self.ctx, self.spec, self.job, span.start)) as entries:
                    for entry in entries:
                        self.remote_total += 1
                        yield entry
            else:
                one = self._one(span.start)
                if one is not None:
                    self.remote_total += 1
                    yield one

    def check_delete_limit(self) -> None:
        # a percentage max_delete is a share of the whole prefix, not of the few keys this plan listed
        listed = self.remote_total
        self.remote_total = max(listed, self.known_total)
        try:
            super().check_delete_limit()
        finally:
            self.remote_total = listed

    def _one(self, key: str) -> ListEntry | None:
        """The object ``key`` if it exists: a one-entry listing (the same entry shape as a page)."""
        client, bucket = self.ctx.client, str(self.spec.bucket)
        page = call_with_retries(lambda _attempt: client.rsf.page(bucket, prefix=key, limit=1),
                                 policy_for(self.spec))
        entries = page.entries
        return entries[0] if entries and entries[0].key == key else None


class _Rebased:
    """The job's filter for a walk started below the sync root (a touched directory): paths get
    ``base`` prepended. It implements :class:`~kodo_jobs.jobs.sync.walk.WalkFilter` by
    forwarding every method (it does not inherit :class:`PathFilter`, whose unforwarded
    methods would quietly answer as an empty filter: a touched directory's walk then entered
    folders the full walk prunes)."""

    __slots__ = ("_base", "_inner")

    def __init__(self, inner: PathFilter, base: str) -> None:
        self._inner = inner
        self._base = base

    @property
    def is_empty(self) -> bool:
        return self._inner.is_empty

    def dir_pruned(self, rel_dir: str) -> bool:
        return self._inner.dir_pruned(self._base + rel_dir)

    def file_selected_in_walk(self, rel_path: str) -> bool:
        return self._inner.file_selected_in_walk(self._base + rel_path)


__all__ = ["PROMOTE_AT", "PlanScope", "TouchedPlanner", "planned", "planner_for", "restricted", "scope_for", "spans"]
