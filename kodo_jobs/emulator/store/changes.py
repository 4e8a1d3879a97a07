"""Changes to an existing object's metadata: rs chgm, chtype, chstatus, deleteAfterDays,
restoreAr and lifecycle, plus the ``cond`` check those commands accept.

Each builder validates its arguments (400 before anything is read, as Kodo answers) and returns
a :data:`Change`, a pure ``ObjectInfo -> ObjectInfo`` function the store applies inside the
transaction that re-reads the object, so a change never works on a stale copy.

Times: expiration and transitions are unix seconds, rounded up to the next midnight China
time, as Kodo documents; ``put_time`` is in 100-ns units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from kodo_jobs.emulator.errors import BadRequest, ConditionFailed
from kodo_jobs.emulator.store.object_info import TICKS_PER_SECOND, TRANSITION_FIELDS, ObjectInfo

Change = Callable[[ObjectInfo], ObjectInfo]
"""A new version of an object, computed from its current one."""

_DAY = 86400
_CST = 8 * 3600


def midnight_after(ts: float, days: int) -> int:
    """Unix seconds of the first midnight (China time, as Kodo rounds) at or after ts + days."""
    t = int(ts) + days * _DAY
    local = t + _CST
    rounded = -(-local // _DAY) * _DAY
    return rounded - _CST


def check_cond(obj: ObjectInfo, cond: dict[str, str] | None) -> None:
    """Raise ``ConditionFailed`` (608) unless every ``cond`` field (hash, mime, fsize, putTime)
    matches the object; an unknown field is 400."""
    if not cond:
        return
    actual = {"hash": obj.hash, "mime": obj.mime, "fsize": str(obj.fsize), "putTime": str(obj.put_time)}
    for name, want in cond.items():
        if name not in actual:
            raise BadRequest(f"invalid cond field {name!r}")
        if actual[name] != want:
            raise ConditionFailed()


def mime_change(mime: str | None, metadata: dict[str, str] | None) -> Change:
    """Set the MIME type and/or merge metadata (an empty value removes a metadata name)."""
    def change(o: ObjectInfo) -> ObjectInfo:
        meta = dict(o.metadata)
        for name, value in (metadata or {}).items():
            if value:
                meta[name] = value
            else:
                meta.pop(name, None)
        return replace(o, mime=mime or o.mime, metadata=meta)
    return change


def type_change(file_type: int) -> Change:
    """Set the storage class (0..4); a running or finished restore is forgotten."""
    if file_type not in (0, 1, 2, 3, 4):
        raise BadRequest("invalid file type")
    return lambda o: replace(o, type=file_type, restore_status=None, restore_started=None)


def delete_after_change(days: int) -> Change:
    """Expire the object ``days`` after upload (0 cancels)."""
    if days < 0:
        raise BadRequest("invalid deleteAfterDays")

    def change(o: ObjectInfo) -> ObjectInfo:
        exp = midnight_after(o.put_time / TICKS_PER_SECOND, days) if days else None
        return replace(o, expiration=exp)
    return change


def status_change(status: int) -> Change:
    """0 enabled, 1 disabled (not downloadable)."""
    if status not in (0, 1):
        raise BadRequest("invalid status")
    return lambda o: replace(o, status=status)


def restore_change(days: int, now: float) -> Change:
    """Start thawing an archive / deep-archive object for ``days`` (1..7); a restore already
    running or done is left as it is."""
    if not 1 <= days <= 7:
        raise BadRequest("invalid freezeAfterDays")

    def change(o: ObjectInfo) -> ObjectInfo:
        if o.type not in (2, 3):
            raise BadRequest("the file is not an archive file")
        if o.current_restore_status(now):
            return o
        return replace(o, restore_status=1, restore_started=now)
    return change


def lifecycle_change(to_ia: int = 0, to_archive_ir: int = 0, to_archive: int = 0, to_deep_archive: int = 0,
                     delete: int = 0) -> Change:
    """Per-object lifecycle rules, in days after upload (0 keeps a rule, -1 cancels it)."""
    rules = dict(zip(TRANSITION_FIELDS, (to_ia, to_archive_ir, to_archive, to_deep_archive), strict=True))
    for v in (*rules.values(), delete):
        if v < -1:
            raise BadRequest("invalid lifecycle days")

    def change(o: ObjectInfo) -> ObjectInfo:
        put_s = o.put_time / TICKS_PER_SECOND
        trans = dict(o.transitions)
        for name, days in rules.items():
            if days == -1:
                trans.pop(name, None)
            elif days > 0:
                trans[name] = midnight_after(put_s, days)
        exp = o.expiration
        if delete == -1:
            exp = None
        elif delete > 0:
            exp = midnight_after(put_s, delete)
        return replace(o, transitions=trans, expiration=exp)
    return change
