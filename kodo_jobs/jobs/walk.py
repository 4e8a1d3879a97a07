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
  followed, or a special file (fifo, socket, device); excluded *directories* are not entered;
* :class:`WalkError` - something that could not be read. ``subtree=True`` marks an unreadable
  directory: the planner must then protect every remote key below ``key`` (never delete them).
  Names that are not valid UTF-8 cannot become keys; they are reported with ``ordered=False``
  and travel outside the key order.

``os.scandir`` + ``entry.stat()`` is the fastest walk on this machine (about 3 us per file,
PERF-LIMITS.md section 3); threads make it slower, so there are none.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from kodo_jobs.jobs.sync_filter import PathFilter


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A regular file to sync: its key, absolute path, size and modification time (ns)."""

    key: str
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Filtered:
    """A file left out of the sync, with the reason (``filtered``, ``symlink``, ``special file``)."""

    key: str
    path: str
    reason: str


@dataclass(frozen=True, slots=True)
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


def _os_error_text(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def walk(
    root: str,
    *,
    prefix: str = "",
    path_filter: PathFilter | None = None,
    follow_symlinks: bool = False,
) -> Iterator[WalkRecord]:
    """Yield every file under ``root`` in key order (see the module docstring).

    Raises :class:`SourceMissing` before yielding anything when ``root`` is not a directory.
    """
    if not os.path.isdir(root):
        kind = "does not exist" if not os.path.lexists(root) else "is not a directory"
        raise SourceMissing(f"source folder {root} {kind}")
    filt = path_filter or PathFilter()
    root_stat = os.stat(root)
    yield from _walk_dir(root, "", prefix, filt, follow_symlinks, {(root_stat.st_dev, root_stat.st_ino)})


def _walk_dir(
    dir_path: str,
    rel_dir: str,
    prefix: str,
    filt: PathFilter,
    follow: bool,
    ancestors: set[tuple[int, int]],
) -> Iterator[WalkRecord]:
    # entries of this directory: (sort key, name, DirEntry); rel paths are NFC-normalised
    try:
        with os.scandir(dir_path) as scanner:
            raw = list(scanner)
    except OSError as exc:
        key = prefix + rel_dir
        yield WalkError(key, dir_path, f"cannot list directory: {_os_error_text(exc)}", subtree=True)
        return

    entries: list[tuple[str, str, bool, os.DirEntry[str]]] = []
    for entry in raw:
        if not _valid_utf8(entry.name):
            shown = entry.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            yield WalkError(prefix + rel_dir + shown, entry.path, "file name is not valid UTF-8", ordered=False)
            continue
        name = unicodedata.normalize("NFC", entry.name)
        try:
            is_dir = entry.is_dir(follow_symlinks=follow)
        except OSError:
            is_dir = False
        entries.append((name + "/" if is_dir else name, name, is_dir, entry))
    entries.sort(key=lambda item: item[0])
    del raw

    previous: str | None = None
    for sort_key, name, is_dir, entry in entries:
        rel = rel_dir + name
        key = prefix + rel
        if sort_key == previous:
            # two names that differ only in Unicode normalisation map to the same key
            yield WalkError(key, entry.path, "another file has the same NFC-normalised name")
            continue
        previous = sort_key
        try:
            if entry.is_symlink() and not follow:
                yield Filtered(key, entry.path, "symlink")
                continue
            if is_dir:
                if filt.dir_excluded(rel):
                    continue
                try:
                    st = entry.stat(follow_symlinks=True)
                except OSError as exc:
                    yield WalkError(key + "/", entry.path, f"cannot stat directory: {_os_error_text(exc)}",
                                    subtree=True)
                    continue
                ident = (st.st_dev, st.st_ino)
                if ident in ancestors:
                    yield WalkError(key + "/", entry.path, "symlink loop", subtree=True)
                    continue
                ancestors.add(ident)
                yield from _walk_dir(entry.path, rel + "/", prefix, filt, follow, ancestors)
                ancestors.discard(ident)
                continue
            st = entry.stat(follow_symlinks=follow)
        except OSError as exc:
            yield WalkError(key, entry.path, f"cannot stat: {_os_error_text(exc)}")
            continue
        if not stat.S_ISREG(st.st_mode):
            yield Filtered(key, entry.path, "special file")
            continue
        if not filt.file_selected_in_walk(rel):
            yield Filtered(key, entry.path, "filtered")
            continue
        # one access() call (about 1 us) so that the plan reports an unreadable file rather
        # than the upload failing later
        if not os.access(entry.path, os.R_OK):
            yield WalkError(key, entry.path, "cannot read: permission denied")
            continue
        yield LocalFile(key, entry.path, st.st_size, st.st_mtime_ns)
