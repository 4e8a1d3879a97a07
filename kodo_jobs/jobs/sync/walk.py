"""Walk a local tree in **key order**, the order in which rsf lists a bucket.

A key is ``prefix + relative path`` with ``/`` separators, NFC-normalised. Kodo lists keys
sorted by their UTF-8 bytes, which is the same as Python's code-point order of ``str``. A
plain name-ordered directory walk does not give that order once names contain characters
below ``/`` (``a-b`` sorts before ``a/x`` as a key, but after ``a`` as a name), so each
directory's entries are sorted by ``name + "/"`` for directories and ``name`` for files:
every key below directory ``d`` starts with ``d/`` and no sibling shares that prefix, so the
per-directory order is the global key order and the walk can stream with one sorted directory
listing per level in memory.

The walk yields three kinds of records (slotted dataclasses, about 220 bytes each):

* :class:`LocalFile` - a regular file that takes part in the sync;
* :class:`Filtered` - a file the include/exclude patterns leave out, a symlink that is not
  followed, or a special file (fifo, socket, device); excluded directories, and directories
  below which no include pattern can match, are not entered (:meth:`PathFilter.dir_pruned`);
* :class:`WalkError` - something that could not be read. ``subtree=True`` marks an unreadable
  directory: the planner must then protect every remote key below ``key`` (never delete them).
  Names that are not valid UTF-8 cannot become keys; they are reported with ``ordered=False``
  and travel outside the key order.

``os.scandir`` + ``entry.stat()`` is the fastest walk measured (PERF-LIMITS.md section 3;
figures: docs/bench.md); threads make it slower, so there are none.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Protocol

from kodo_jobs.jobs.sync.filters import PathFilter


@dataclass(slots=True)
class LocalFile:
    """A regular file to sync: its key, absolute path, size and modification time (ns)."""

    key: str
    path: str
    size: int
    mtime_ns: int


@dataclass(slots=True)
class Filtered:
    """A file left out of the sync, with the reason (``filtered``, ``symlink``, ``special file``)."""

    key: str
    path: str
    reason: str


@dataclass(slots=True)
class WalkError:
    """Something under the source that could not be read.

    ``subtree``: the record stands for a whole directory whose keys start with ``key``.
    ``ordered``: False when the name is not valid UTF-8 (no key exists for it).
    """

    key: str
    path: str
    message: str
    subtree: bool = False
    ordered: bool = True


WalkRecord = LocalFile | Filtered | WalkError


class SourceMissing(Exception):
    """The source folder does not exist or is not a directory."""


def _valid_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # surrogate-escaped bytes from a non-UTF-8 file name
        return False
    return True


def process_identity() -> tuple[int, frozenset[int]]:
    """This process's effective uid and groups, as :func:`readable` takes them."""
    return os.geteuid(), frozenset((*os.getgroups(), os.getegid()))


def readable(st: os.stat_result, euid: int, groups: frozenset[int]) -> bool:
    """Whether this process may read a file with this stat, from its mode bits alone.

    Much cheaper than an ``access()`` system call per file, which matters on large trees
    (figures: docs/bench.md); ACLs are not consulted (an upload of such a file still fails cleanly).
    """
    if euid == 0:
        return True
    if st.st_uid == euid:
        return bool(st.st_mode & stat.S_IRUSR)
    if st.st_gid in groups:
        return bool(st.st_mode & stat.S_IRGRP)
    return bool(st.st_mode & stat.S_IROTH)


class WalkFilter(Protocol):
    """What the walk asks of a filter (a :class:`~kodo_jobs.jobs.sync.filters.PathFilter`, or
    one rebased for a walk that starts below the sync root); paths are relative to the root."""

    @property
    def is_empty(self) -> bool:
        """No patterns: every file is selected and no directory is pruned."""
        ...

    def dir_pruned(self, rel_dir: str) -> bool:
        """Whether nothing below this directory can be selected (the walk skips it)."""
        ...

    def file_selected_in_walk(self, rel_path: str) -> bool:
        """The verdict for a file whose parent directories the walk admitted."""
        ...


def _os_error_text(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def walk(
    root: str,
    *,
    prefix: str = "",
    path_filter: WalkFilter | None = None,
    follow_symlinks: bool = False,
) -> Iterator[WalkRecord]:
    """Yield every file under ``root`` in key order (see the module docstring).

    Raises :class:`SourceMissing` before yielding anything when ``root`` is not a directory.
    The walk is an explicit depth-first stack (no nested generators: each record is yielded
    from one frame, which keeps the per-file cost near a bare scandir loop).
    """
    if not os.path.isdir(root):
        kind = "does not exist" if not os.path.lexists(root) else "is not a directory"
        raise SourceMissing(f"source folder {root} {kind}")
    filt: WalkFilter = path_filter or PathFilter()
    follow = follow_symlinks
    euid, groups = process_identity()
    check_read = readable
    is_reg = stat.S_ISREG
    select = None if filt.is_empty else filt.file_selected_in_walk
    prune = filt.dir_pruned
    root_stat = os.stat(root)
    root_ident = (root_stat.st_dev, root_stat.st_ino)
    ancestors = {root_ident}
    entries, problems = _list_dir(root, "", prefix, follow)
    yield from problems
    stack: list[tuple[Iterator[_Entry], str, tuple[int, int]]] = [(iter(entries), "", root_ident)]
    while stack:
        it, rel_dir, ident = stack[-1]
        for sort_key, name, is_dir, entry in it:
            rel = rel_dir + name
            key = prefix + rel
            if sort_key is None:
                # two names that differ only in Unicode normalisation map to the same key
                yield WalkError(key, entry.path, "another file has the same NFC-normalised name")
                continue
            try:
                if not follow and entry.is_symlink():
                    yield Filtered(key, entry.path, "symlink")
                    continue
                if is_dir:
                    if prune(rel):
                        continue
                    try:
                        dst = entry.stat(follow_symlinks=True)
                    except OSError as exc:
                        yield WalkError(key + "/", entry.path, f"cannot stat directory: {_os_error_text(exc)}",
                                        subtree=True)
                        continue
                    sub_ident = (dst.st_dev, dst.st_ino)
                    if sub_ident in ancestors:
                        yield WalkError(key + "/", entry.path, "symlink loop", subtree=True)
                        continue
                    sub_entries, problems = _list_dir(entry.path, rel + "/", prefix, follow)
                    yield from problems
                    ancestors.add(sub_ident)
                    stack.append((iter(sub_entries), rel + "/", sub_ident))
                    break  # descend: the new top of the stack continues
                st = entry.stat(follow_symlinks=follow)
            except OSError as exc:
                yield WalkError(key, entry.path, f"cannot stat: {_os_error_text(exc)}")
                continue
            if not is_reg(st.st_mode):
                yield Filtered(key, entry.path, "special file")
            elif select is not None and not select(rel):
                yield Filtered(key, entry.path, "filtered")
            elif euid and not check_read(st, euid, groups):
                yield WalkError(key, entry.path, "cannot read: permission denied")
            else:
                yield LocalFile(key, entry.path, st.st_size, st.st_mtime_ns)
        else:
            stack.pop()
            ancestors.discard(ident)


_Entry = tuple[str | None, str, bool, "os.DirEntry[str]"]
"""(sort key, NFC name, is a directory, the entry), in key order; the sort key is None for a
second name with the same NFC form (a duplicate key)."""

_sort_key = itemgetter(0)


def _list_dir(dir_path: str, rel_dir: str, prefix: str, follow: bool) -> tuple[list[_Entry], list[WalkError]]:
    """One directory's entries sorted in key order, plus the problems found while listing."""
    problems: list[WalkError] = []
    try:
        with os.scandir(dir_path) as scanner:
            raw = list(scanner)
    except OSError as exc:
        key = prefix + rel_dir
        problems.append(WalkError(key, dir_path, f"cannot list directory: {_os_error_text(exc)}", subtree=True))
        return [], problems
    keyed: list[_Entry] = []
    append = keyed.append
    normalize = unicodedata.normalize
    renamed = False
    for entry in raw:
        name = entry.name
        if not name.isascii():
            if not _valid_utf8(name):
                shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                problems.append(WalkError(prefix + rel_dir + shown, entry.path, "file name is not valid UTF-8",
                                          ordered=False))
                continue
            nfc = normalize("NFC", name)
            renamed = renamed or nfc != name
            name = nfc
        try:
            is_dir = entry.is_dir(follow_symlinks=follow)
        except OSError:
            is_dir = False
        append((name + "/" if is_dir else name, name, is_dir, entry))
    keyed.sort(key=_sort_key)
    if renamed:  # only a name changed by NFC can duplicate another one (names in a folder are unique)
        previous = None
        for i, (sort_key, name, is_dir, entry) in enumerate(keyed):
            if sort_key == previous:
                keyed[i] = (None, name, is_dir, entry)
            previous = sort_key
    return keyed, problems
