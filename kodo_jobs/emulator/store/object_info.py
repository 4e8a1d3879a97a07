"""``ObjectInfo``: one stored object's metadata, and how Kodo's stat / list answers show it.

Times: ``put_time`` in 100-ns units like Kodo; ``expiration`` and ``transitions`` in unix
seconds (see :mod:`.changes` for how they are computed); ``restore_started`` in unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kodo_jobs.emulator.jsontypes import JsonObject

TICKS_PER_SECOND = 10_000_000
"""``put_time`` units per second (Kodo counts putTime in 100-ns units)."""
RESTORE_SECONDS = 1.0
"""How long a simulated archive restore takes (restoreStatus 1 -> 2); tests lengthen it."""
TRANSITION_FIELDS = ("transitionToIA", "transitionToArchiveIR", "transitionToARCHIVE", "transitionToDeepArchive")
"""Kodo's names of the per-object storage-class transition times, in the order rs lifecycle takes them."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One stored object's metadata (its bytes are the blob named ``blob``, see :mod:`.blobs`)."""

    bucket: str
    key: str
    fsize: int
    hash: str
    mime: str
    put_time: int
    type: int = 0
    status: int = 0
    md5: str | None = None
    end_user: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    expiration: int | None = None
    transitions: dict[str, int] = field(default_factory=dict)
    restore_status: int | None = None
    restore_started: float | None = None
    parts: tuple[int, ...] | None = None
    blob: str = ""

    def current_restore_status(self, now: float) -> int | None:
        """1 while a restore runs, 2 once it finished (RESTORE_SECONDS after it started)."""
        if self.restore_status == 1 and self.restore_started is not None \
                and now - self.restore_started >= RESTORE_SECONDS:
            return 2
        return self.restore_status

    def to_json(self, now: float, *, with_key: bool = False, with_parts: bool = False) -> JsonObject:
        """Kodo's stat / list item fields."""
        out: JsonObject = {}
        if with_key:
            out["key"] = self.key
        out.update(fsize=self.fsize, hash=self.hash, mimeType=self.mime, putTime=self.put_time, type=self.type)
        if self.md5:
            out["md5"] = self.md5
        if self.end_user:
            out["endUser"] = self.end_user
        if self.status:
            out["status"] = self.status
        restore = self.current_restore_status(now)
        if restore:
            out["restoreStatus"] = restore
        if self.expiration:
            out["expiration"] = self.expiration
        for name in TRANSITION_FIELDS:
            if name in self.transitions:
                out[name] = self.transitions[name]
        if self.metadata:
            out["x-qn-meta"] = dict(self.metadata)
        if with_parts and self.parts is not None:
            out["parts"] = list(self.parts)
        return out
