"""Which saved-plan actions a sync job could have produced, with every local path rebuilt.

A saved plan (``plan -o FILE``) is untrusted input: anyone who can edit the file between the
review and ``run --plan`` could point an upload at ``~/.ssh/id_rsa`` or a local delete at a
file outside the destination folder. So the sync never takes a path, a phase or a soft-delete
target from the file. :func:`trusted` accepts an action only when the job's own planner could
have emitted it:

* the op belongs to the job's direction (``download`` is never an upload-sync op), with the
  phase the planner gives it (deletes run in phase 1, after everything else succeeded), and a
  ``delete`` only when the job has ``delete: true``;
* the key lies under the job's ``prefix``;
* the local path is rebuilt from the job's folder and the key (``<source>/<key minus
  prefix>``); the plan's ``params.path`` must name that same file (the walk keeps a file's
  on-disk name, which may be the NFD form of the key's NFC name) and the rebuilt path must
  resolve inside the folder (no ``..``, no escape through a symlinked directory unless the
  job follows symlinks);
* an upload sync's delete carries exactly the job's own soft-delete parameters.

The returned action carries the rebuilt params, so the executor uses the job's path, never
the file's.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from kodo_jobs.actions import Action
from kodo_jobs.jobs import soft_delete
from kodo_jobs.jobs.sync.download import local_path

if TYPE_CHECKING:
    from kodo_jobs.manifest.spec_sync import SyncJob

UPLOAD_PHASES: Mapping[str, int] = {"upload": 0, "update": 0, "delete": 1, "same": 0, "skip": 0, "error": 0}
"""Ops an upload sync plans, and the phase of each."""
DOWNLOAD_PHASES: Mapping[str, int] = {"download": 0, "update": 0, "delete": 1, "same": 0, "skip": 0, "error": 0}
"""Ops a download sync plans, and the phase of each."""


class Untrusted(ValueError):
    """The action is not one the job's planner could have produced (the message says why)."""


def walked_path(root: str, rel: str, given: str, *, follow_symlinks: bool) -> str:
    """The path the walk gives the file ``rel`` under ``root``; ``given`` must name it.

    Raises :class:`Untrusted` when ``rel`` is not a plain relative path, ``given`` is another
    file, or the path resolves outside ``root`` (a symlinked directory) while the job does not
    follow symlinks.
    """
    parts = rel.split("/")
    if "\x00" in rel or any(p in ("", ".", "..") for p in parts):
        raise Untrusted("its key below the prefix is not a plain relative path")
    expected = os.path.join(root, *parts)
    if given != expected:
        head = os.path.join(root, "")
        on_disk = given[len(head):].split(os.sep) if given.startswith(head) else []
        if [unicodedata.normalize("NFC", p) for p in on_disk] != parts:
            raise Untrusted(f"params.path {given!r} is not the job's file {expected!r}")
        expected = given  # the on-disk (e.g. NFD) spelling of the same name
    if not follow_symlinks:
        real_root = os.path.realpath(root)
        if not Path(os.path.realpath(expected)).is_relative_to(real_root):
            raise Untrusted(f"{expected} resolves outside {root} (through a symlink)")
    return expected


def _int(params: Mapping[str, object], name: str) -> int:
    value = params.get(name)
    if type(value) is not int:
        raise Untrusted(f"params.{name} must be an integer")
    return value


def _str(params: Mapping[str, object], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str):
        raise Untrusted(f"params.{name} must be a string")
    return value


def _delete_params(spec: SyncJob, key: str, params: Mapping[str, object]) -> dict[str, object]:
    """An upload sync's delete params as the job plans them (the hash is checked remotely)."""
    rebuilt: dict[str, object] = {"hash": _str(params, "hash")}
    soft = spec.soft_delete
    if soft is not None and soft.trash_prefix is not None:
        rebuilt["trash_key"] = soft_delete.planned_trash_key(str(soft.trash_prefix), key)
    elif soft is not None and soft.delete_after_days is not None:
        rebuilt["delete_after_days"] = int(soft.delete_after_days)
    if dict(params) != rebuilt:
        raise Untrusted("its delete parameters (soft_delete) are not the job's")
    return rebuilt


def trusted(spec: SyncJob, action: Action) -> Action:
    """``action`` with params rebuilt from the job, or :class:`Untrusted` (see the module doc)."""
    download = str(spec.direction) == "download"
    phases = DOWNLOAD_PHASES if download else UPLOAD_PHASES
    op = action.op
    if op not in phases:
        raise Untrusted(f"a {spec.direction} sync never plans {op!r} (its ops: {', '.join(phases)})")
    if action.phase != phases[op]:
        raise Untrusted(f"phase {action.phase}: a {op} runs in phase {phases[op]}")
    prefix = str(spec.prefix)
    if not action.key.startswith(prefix):
        raise Untrusted(f"the key is outside the job's prefix {prefix!r}")
    if not action.changes:
        return action  # counted and reported, never run
    if op == "delete" and not spec.delete:
        raise Untrusted("the job does not delete (no `delete: true`)")
    params = dict(action.params)
    rel = action.key[len(prefix):]
    root = str(spec.source)
    follow = bool(spec.follow_symlinks)
    if not download:
        if op == "delete":
            return _with(action, _delete_params(spec, action.key, params))
        params["path"] = walked_path(root, rel, _str(params, "path"), follow_symlinks=follow)
        _int(params, "mtime_ns")
        return _with(action, params)
    if op == "delete":
        params["path"] = walked_path(root, rel, _str(params, "path"), follow_symlinks=follow)
        _int(params, "local_size")
        _int(params, "local_mtime_ns")
        return _with(action, params)
    try:
        path = str(local_path(Path(root), rel))
    except ValueError as exc:
        raise Untrusted(f"the key would not stay inside {root}: {exc}") from exc
    if params.get("path") != path:
        raise Untrusted(f"params.path {params.get('path')!r} is not the job's file {path!r}")
    _str(params, "hash")
    return _with(action, params)


def _with(action: Action, params: dict[str, object]) -> Action:
    return Action(action.job, action.op, action.key, action.size, action.phase, params)


__all__ = ["DOWNLOAD_PHASES", "UPLOAD_PHASES", "Untrusted", "trusted", "walked_path"]
