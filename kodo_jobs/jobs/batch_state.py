"""When a batch op has nothing to do: the convergence rules of ``kind: batch``.

A declarative rerun must plan nothing for an object that is already as the job wants it.

* **Observable ops** are compared with the object as the listing (or a stat) shows it:
  ``chtype`` to the class it has, ``chstatus`` to the status it has, ``chgm`` to the MIME type
  and metadata it has (metadata needs a stat: the listing does not carry it), ``restoreAr`` of
  an object already restoring or restored (``restoreStatus`` 1 or 2, from a stat), and a
  ``copy`` with ``force`` to a destination that already holds the same content (same hash, from
  a stat of the destination). A copy without ``force`` keeps Kodo's answer (614, the
  destination exists) as a failure, as asked. ``move`` and ``rename`` are not skipped this way:
  while the source exists the job's intent (the source goes away) is not met.
* **Recorded ops**: an expiry (``deleteAfterDays``, a soft delete with ``delete_after_days``)
  or ``lifecycle`` rules cannot be compared reliably (Kodo rounds the dates it stores), so the
  state file records that this job applied this op (a fingerprint of its parameters) to this
  object version (hash and put time, as planned). The same job, op and version plan nothing
  again; a new upload of the key, or a changed op, applies it once more.
* ``stat`` only reads; it is always planned (it is the inventory) and never counts as a change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kodo_jobs.jobs.base import JobContext
from kodo_jobs.jobs.select import storage_class

if TYPE_CHECKING:
    from kodo_jobs.kodo.rsf import ListEntry
    from kodo_jobs.manifest.spec_batch import BatchOp
    from kodo_jobs.manifest.spec_common import JobBase

OBSERVED = frozenset({"chtype", "chstatus", "chgm", "restoreAr"})
"""Ops whose effect the object's stat shows."""
RECORDED = frozenset({"deleteAfterDays", "lifecycle"})
"""Ops whose effect is recorded in the state file instead (plus a soft delete that expires)."""

Current = Mapping[str, Any]
"""(JSON as Kodo sends it.) An object as Kodo's stat JSON names its fields (``hash``, ``putTime``, ``type``, ``status``,
``mimeType``, ``x-qn-meta``, ``restoreStatus``)."""


def from_listing(entry: ListEntry) -> dict[str, object]:
    """The stat-shaped fields a listing entry carries (tests pass entries without hash/status)."""
    return {"hash": getattr(entry, "hash", ""), "putTime": entry.put_time_100ns, "type": entry.type,
            "status": getattr(entry, "status", 0), "mimeType": entry.mime_type}


def is_recorded(name: str, soft: str | None) -> bool:
    """True when the op's effect is recorded in the state file rather than observed."""
    return name in RECORDED or (name == "delete" and soft == "expire")


def needs_stat(op: BatchOp, soft: str | None, listed: bool) -> bool:
    """True when deciding needs a stat of the source (the listing, if any, is not enough)."""
    name = op.name
    if name == "restoreAr" or (op.chgm is not None and op.chgm.metadata):
        return True
    return not listed and (name in OBSERVED or is_recorded(name, soft))


def already(op: BatchOp, current: Current) -> str | None:
    """Why an observable op has nothing to do on ``current`` (None: it has something to do)."""
    if op.chtype is not None and int(current.get("type", 0)) == storage_class(op.chtype.type):
        return "already of that storage class"
    if op.chstatus is not None and int(current.get("status", 0)) == op.chstatus.status:
        return "already " + ("disabled" if op.chstatus.status else "enabled")
    chgm = op.chgm
    if chgm is not None:
        if chgm.mime is not None and current.get("mimeType") != chgm.mime:
            return None
        meta = current.get("x-qn-meta") or {}
        for key, value in chgm.metadata.items():
            if (meta.get(key) != value) if value else (key in meta):
                return None
        return "already has that MIME type and metadata"
    if op.restore_ar is not None and current.get("restoreStatus") in (1, 2):
        return "already restoring or restored"
    return None


def same_content(dest: Current | None, current: Current | None) -> bool:
    """True when a copy's destination already holds the source's content (same hash)."""
    src_hash = (current or {}).get("hash")
    return dest is not None and bool(src_hash) and dest.get("hash") == src_hash


def fingerprint(op: BatchOp, soft_days: int | None) -> str:
    """What a recorded op asks for: a change means apply again."""
    body = {"op": op.name, "params": op.params.model_dump(mode="json"), "soft_days": soft_days}
    return hashlib.sha1(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def version(current: Current) -> str:
    """One object version: its hash and put time (a new upload is a new version)."""
    return f"{current.get('hash', '')}:{current.get('putTime', '')}"


def record_key(job: str, key: str) -> str:
    """The state value that remembers what ``job`` applied to ``key``."""
    return f"batch\x1f{job}\x1f{key}"


def applied(ctx: JobContext[JobBase], job: str, key: str, fp: str, ver: str) -> bool:
    """True when an earlier run of ``job`` applied this op (``fp``) to this version of ``key``."""
    raw = ctx.state.get_value(record_key(job, key))
    if not raw:
        return False
    try:
        value = json.loads(raw)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("fp") == fp and value.get("v") == ver


def remember(ctx: JobContext[JobBase], job: str, key: str, fp: str, ver: str) -> None:
    """Record that ``job`` applied its op (``fp``) to this version of ``key``."""
    ctx.state.set_value(record_key(job, key), json.dumps({"fp": fp, "v": ver}, sort_keys=True))
