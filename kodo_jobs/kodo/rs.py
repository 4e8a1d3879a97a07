"""rs: object management (stat, move, copy, rename, delete, chgm, chtype, deleteAfterDays,
chstatus, restoreAr, lifecycle) and batches of up to 1000 of those operations.

Commands are sent as the SDK sends them (``POST <path>``, empty form body, Qiniu v2 auth).
Op builders (:class:`Ops`, exported as ``ops``) produce :class:`BatchOp` values that the batch
job can group freely; :meth:`RsApi.batch` returns one typed :class:`BatchResult` per op, also
when Kodo answers 298 (some ops failed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypedDict, Unpack
from urllib.parse import urlencode

from . import errors
from .answers import KodoResponse, error_for_status
from .auth import QiniuAuth, encoded_entry, urlsafe_b64
from .hosts import HostResolver
from .http import HttpClient
from .jsontypes import JsonMapping

MAX_BATCH = 1000
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def put_time_to_datetime(put_time_100ns: int) -> datetime:
    """Kodo's ``putTime`` (100-ns units since the epoch) as an aware UTC datetime."""
    seconds, rest = divmod(int(put_time_100ns), 10_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 10)


class ObjectFields(TypedDict):
    """The fields :meth:`ObjectInfo.fields_from_json` reads (the keyword arguments of ObjectInfo)."""

    fsize: int
    hash: str
    mime_type: str
    put_time: datetime
    put_time_100ns: int
    type: int
    status: int
    md5: str
    end_user: str


class LifecycleRules(TypedDict, total=False):
    """The rules of :meth:`Ops.lifecycle` (days; 0 keeps a rule, -1 cancels it)."""

    to_ia_after_days: int
    to_archive_ir_after_days: int
    to_archive_after_days: int
    to_deep_archive_after_days: int
    delete_after_days: int


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What both ``stat`` and a listing (``rsf``) tell about an object."""

    fsize: int
    hash: str
    mime_type: str
    put_time: datetime
    put_time_100ns: int
    type: int = 0
    status: int = 0
    md5: str = ""
    end_user: str = ""

    @staticmethod
    def fields_from_json(data: JsonMapping, *, strict: bool) -> ObjectFields:
        """The shared fields of a stat body or list item; ``strict``: fsize and hash must be there
        (a stat); else they default to 0 and "" (a list item). Raises KeyError/TypeError/ValueError."""
        put = int(data.get("putTime", 0))
        return {
            "fsize": int(data["fsize"] if strict else data.get("fsize", 0)),
            "hash": str(data["hash"] if strict else data.get("hash", "")),
            "mime_type": str(data.get("mimeType", "")), "put_time": put_time_to_datetime(put),
            "put_time_100ns": put, "type": int(data.get("type", 0)), "status": int(data.get("status", 0)),
            "md5": str(data.get("md5", "") or ""), "end_user": str(data.get("endUser", "") or ""),
        }


@dataclass(frozen=True, slots=True)
class ObjectStat(ObjectInfo):
    """``stat`` of one object (kodo-protocol.md §5.2); ``raw`` keeps every field sent."""

    restore_status: int = 0
    expiration: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    raw: JsonMapping = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: JsonMapping) -> ObjectStat:
        """Parse a stat body (or a batch stat ``data``)."""
        try:
            meta = data.get("x-qn-meta") or {}
            return cls(
                **cls.fields_from_json(data, strict=True), restore_status=int(data.get("restoreStatus", 0)),
                expiration=int(data["expiration"]) if data.get("expiration") is not None else None,
                metadata={str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {},
                raw=dict(data),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise errors.ServerError(f"malformed stat result: {exc}") from exc


@dataclass(frozen=True, slots=True)
class BatchOp:
    """One rs command for ``/batch`` (``command`` without the leading slash)."""

    command: str
    bucket: str
    key: str


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _cond(cond: Mapping[str, str | int] | None) -> str:
    return f"/cond/{urlsafe_b64(urlencode(dict(cond)))}" if cond else ""


class Ops:
    """Builders of rs commands; usable alone (``ops.delete(b, k)``) or through :class:`RsApi`."""

    @staticmethod
    def stat(bucket: str, key: str) -> BatchOp:
        """``stat/<entry>``."""
        return BatchOp(f"stat/{encoded_entry(bucket, key)}", bucket, key)

    @staticmethod
    def delete(bucket: str, key: str) -> BatchOp:
        """``delete/<entry>``."""
        return BatchOp(f"delete/{encoded_entry(bucket, key)}", bucket, key)

    @staticmethod
    def move(bucket: str, key: str, dst_bucket: str, dst_key: str, *, force: bool = False) -> BatchOp:
        """``move/<src>/<dst>/force/<bool>`` (also cross-bucket within a region)."""
        return BatchOp(f"move/{encoded_entry(bucket, key)}/{encoded_entry(dst_bucket, dst_key)}"
                       f"/force/{_flag(force)}", bucket, key)

    @staticmethod
    def copy(bucket: str, key: str, dst_bucket: str, dst_key: str, *, force: bool = False) -> BatchOp:
        """``copy/<src>/<dst>/force/<bool>``."""
        return BatchOp(f"copy/{encoded_entry(bucket, key)}/{encoded_entry(dst_bucket, dst_key)}"
                       f"/force/{_flag(force)}", bucket, key)

    @staticmethod
    def rename(bucket: str, key: str, new_key: str, *, force: bool = False) -> BatchOp:
        """A move within one bucket."""
        return Ops.move(bucket, key, bucket, new_key, force=force)

    @staticmethod
    def chgm(bucket: str, key: str, mime_type: str | None = None, *,
             metadata: Mapping[str, str] | None = None, cond: Mapping[str, str | int] | None = None) -> BatchOp:
        """``chgm/<entry>[/mime/<b64>][/x-qn-meta-<name>/<b64 value>...][/cond/<b64>]``.

        ``metadata`` names may be given with or without the ``x-qn-meta-`` prefix.
        """
        path = f"chgm/{encoded_entry(bucket, key)}"
        if mime_type:
            path += f"/mime/{urlsafe_b64(mime_type)}"
        for name, value in (metadata or {}).items():
            name = name if name.lower().startswith("x-qn-meta-") else f"x-qn-meta-{name}"
            path += f"/{name}/{urlsafe_b64(value)}"
        if path.count("/") == 1:
            raise ValueError("chgm needs a mime type or metadata")
        return BatchOp(path + _cond(cond), bucket, key)

    @staticmethod
    def chtype(bucket: str, key: str, storage_type: int) -> BatchOp:
        """``chtype/<entry>/type/<0..4>`` (standard, IA, archive, deep archive, archive-IR)."""
        if storage_type not in range(0, 6):
            raise ValueError("storage type must be 0..5")
        return BatchOp(f"chtype/{encoded_entry(bucket, key)}/type/{storage_type}", bucket, key)

    @staticmethod
    def delete_after_days(bucket: str, key: str, days: int) -> BatchOp:
        """``deleteAfterDays/<entry>/<days>`` (0 cancels the expiry)."""
        if days < 0:
            raise ValueError("days must be >= 0")
        return BatchOp(f"deleteAfterDays/{encoded_entry(bucket, key)}/{days}", bucket, key)

    @staticmethod
    def chstatus(bucket: str, key: str, status: int, *, cond: Mapping[str, str | int] | None = None) -> BatchOp:
        """``chstatus/<entry>/status/<0|1>`` (1 disables the object)."""
        if status not in (0, 1):
            raise ValueError("status must be 0 (enabled) or 1 (disabled)")
        return BatchOp(f"chstatus/{encoded_entry(bucket, key)}/status/{status}{_cond(cond)}", bucket, key)

    @staticmethod
    def restore_ar(bucket: str, key: str, freeze_after_days: int) -> BatchOp:
        """``restoreAr/<entry>/freezeAfterDays/<1..7>`` (thaw an archived object)."""
        if not 1 <= freeze_after_days <= 7:
            raise ValueError("freeze_after_days must be 1..7")
        return BatchOp(f"restoreAr/{encoded_entry(bucket, key)}/freezeAfterDays/{freeze_after_days}",
                       bucket, key)

    @staticmethod
    def lifecycle(bucket: str, key: str, *, to_ia_after_days: int = 0, to_archive_ir_after_days: int = 0,
                  to_archive_after_days: int = 0, to_deep_archive_after_days: int = 0,
                  delete_after_days: int = 0, cond: Mapping[str, str | int] | None = None) -> BatchOp:
        """``lifecycle/<entry>/toIAAfterDays/..`` with all five rules (0 keeps, -1 cancels)."""
        return BatchOp(
            f"lifecycle/{encoded_entry(bucket, key)}/toIAAfterDays/{to_ia_after_days}"
            f"/toArchiveIRAfterDays/{to_archive_ir_after_days}/toArchiveAfterDays/{to_archive_after_days}"
            f"/toDeepArchiveAfterDays/{to_deep_archive_after_days}/deleteAfterDays/{delete_after_days}"
            f"{_cond(cond)}", bucket, key)


ops = Ops()


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The outcome of one op of a batch: ``code`` 200 = done; otherwise ``exception`` says why."""

    op: BatchOp
    code: int
    data: JsonMapping
    reqid: str = ""

    @property
    def ok(self) -> bool:
        """True when this op succeeded."""
        return self.code == 200

    @property
    def message(self) -> str:
        """Kodo's error text for a failed op ('' when it succeeded)."""
        return "" if self.ok else str(self.data.get("error", f"code {self.code}"))

    @property
    def stat(self) -> ObjectStat | None:
        """The stat of a successful ``stat`` op (None for other ops or failures)."""
        if self.ok and self.op.command.startswith("stat/") and self.data:
            return ObjectStat.from_json(self.data)
        return None

    @property
    def exception(self) -> errors.KodoError | None:
        """The typed error of a failed op (same classes as a single request would raise)."""
        if self.ok:
            return None
        body = json.dumps({"error": self.message}).encode()
        return error_for_status(self.code, body, {"X-Reqid": self.reqid}, method="POST",
                                url=f"/batch op={self.op.command.split('/')[0]} key={self.op.key}")


class RsApi:
    """``client.rs``: single object operations and batches."""

    ops = ops

    def __init__(self, http: HttpClient, resolver: HostResolver, auth: QiniuAuth) -> None:
        self._http = http
        self._resolver = resolver
        self._auth = auth

    def run(self, op: BatchOp) -> KodoResponse:
        """Send one command on its own (``POST /<command>``)."""
        return self._resolver.call("rs", op.bucket, lambda hosts: self._http.request(
            "POST", hosts, "/" + op.command, headers=FORM, auth=self._auth))

    def stat(self, bucket: str, key: str, *, needparts: bool = False) -> ObjectStat:
        """Metadata of ``key``; raises ``NotFound`` (612) when it does not exist.

        ``needparts``: also ask for the sizes of a multipart object's parts (``raw["parts"]``),
        which is what a v2 hash with other than 4 MiB parts can be checked with."""
        if not needparts:
            return ObjectStat.from_json(self.run(ops.stat(bucket, key)).json_object())
        op = ops.stat(bucket, key)
        resp = self._http.request("POST", self._resolver.candidates("rs", bucket), "/" + op.command,
                                  params={"needparts": "true"}, headers=FORM, auth=self._auth)
        return ObjectStat.from_json(resp.json_object())

    def exists(self, bucket: str, key: str) -> bool:
        """True when ``key`` exists (a stat that maps NotFound to False)."""
        try:
            self.stat(bucket, key)
        except errors.NotFound:
            return False
        return True

    def delete(self, bucket: str, key: str) -> None:
        """Delete ``key`` (NotFound if it is missing)."""
        self.run(ops.delete(bucket, key))

    def move(self, bucket: str, key: str, dst_bucket: str, dst_key: str, *, force: bool = False) -> None:
        """Move ``key`` (AlreadyExists when the target exists and not ``force``)."""
        self.run(ops.move(bucket, key, dst_bucket, dst_key, force=force))

    def copy(self, bucket: str, key: str, dst_bucket: str, dst_key: str, *, force: bool = False) -> None:
        """Copy ``key``."""
        self.run(ops.copy(bucket, key, dst_bucket, dst_key, force=force))

    def rename(self, bucket: str, key: str, new_key: str, *, force: bool = False) -> None:
        """Rename ``key`` inside its bucket."""
        self.run(ops.rename(bucket, key, new_key, force=force))

    def chgm(self, bucket: str, key: str, mime_type: str | None = None, *,
             metadata: Mapping[str, str] | None = None, cond: Mapping[str, str | int] | None = None) -> None:
        """Change the MIME type and/or set metadata pairs."""
        self.run(ops.chgm(bucket, key, mime_type, metadata=metadata, cond=cond))

    def chtype(self, bucket: str, key: str, storage_type: int) -> None:
        """Change the storage class."""
        self.run(ops.chtype(bucket, key, storage_type))

    def delete_after_days(self, bucket: str, key: str, days: int) -> None:
        """Expire ``key`` after ``days`` (0 cancels)."""
        self.run(ops.delete_after_days(bucket, key, days))

    def chstatus(self, bucket: str, key: str, status: int, *,
                 cond: Mapping[str, str | int] | None = None) -> None:
        """Enable (0) or disable (1) an object."""
        self.run(ops.chstatus(bucket, key, status, cond=cond))

    def restore_ar(self, bucket: str, key: str, freeze_after_days: int) -> None:
        """Thaw an archived object for ``freeze_after_days`` days."""
        self.run(ops.restore_ar(bucket, key, freeze_after_days))

    def lifecycle(self, bucket: str, key: str, **rules: Unpack[LifecycleRules]) -> None:
        """Set lifecycle rules (keyword arguments of :meth:`Ops.lifecycle`)."""
        self.run(ops.lifecycle(bucket, key, **rules))

    def batch(self, batch_ops: Sequence[BatchOp]) -> list[BatchResult]:
        """Run up to 1000 ops in one request; one result per op, in order (200 and 298)."""
        if not batch_ops:
            return []
        if len(batch_ops) > MAX_BATCH:
            raise ValueError(f"a batch holds at most {MAX_BATCH} ops, got {len(batch_ops)}")
        body = batch_body([op.command for op in batch_ops])
        resp = self._resolver.call("rs", batch_ops[0].bucket, lambda hosts: self._http.request(
            "POST", hosts, "/batch", data=body, headers=FORM, auth=self._auth))
        items = resp.json()
        if not isinstance(items, list) or len(items) != len(batch_ops):
            raise errors.ServerError(f"batch answered {type(items).__name__} for {len(batch_ops)} ops",
                                     status=resp.status, reqid=resp.reqid, method="POST", url=resp.url)
        reqid = resp.reqid
        results = []
        for op, item in zip(batch_ops, items, strict=True):
            if item == _OK_ITEM:  # the common answer, with nothing else to read
                results.append(BatchResult(op, 200, {}, reqid))
                continue
            item = item if isinstance(item, dict) else {}
            data = item.get("data")
            results.append(BatchResult(op=op, code=int(item.get("code", 0)),
                                       data=data if isinstance(data, dict) else {}, reqid=reqid))
        return results


_OK_ITEM: JsonMapping = {"code": 200}
_FORM_PLAIN = re.compile(r"[^A-Za-z0-9_.~/=\n-]")
"""Characters a batch command may hold for :func:`batch_body`'s fast path."""


def batch_body(commands: Sequence[str]) -> str:
    """``op=<command>&op=...`` form-encoded exactly as ``urlencode`` would write it.

    Why: urlencode quotes character by character, a large share of a big batch's client CPU
    (figures: docs/bench.md). Commands are urlsafe base64 segments joined by ``/`` (plus ``=``
    padding), where only ``/`` and ``=`` need escaping; any other character takes the general path.
    """
    joined = "\n".join(commands)
    if _FORM_PLAIN.search(joined) or joined.count("\n") != len(commands) - 1:  # a newline inside a command
        return urlencode([("op", c) for c in commands])
    return "op=" + joined.replace("/", "%2F").replace("=", "%3D").replace("\n", "&op=")
