"""Persistent data processing: ``pfop`` submit and ``prefop`` status (api host, QBox auth)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from . import errors
from .auth import QBoxAuth
from .hosts import HostResolver
from .http import HttpClient
from .jsontypes import JsonMapping
from .rs import FORM

WAITING, PROCESSING, SUCCEEDED, FAILED, NOTIFY_FAILED = 1, 2, 0, 3, 4


@dataclass(frozen=True, slots=True)
class PfopItem:
    """One fop of a job: command, code (0 ok, 1 waiting, 2 running, 3 failed, 4 notify failed)."""

    cmd: str
    code: int
    desc: str = ""
    error: str = ""
    hash: str = ""
    key: str = ""
    return_old: int = 0


@dataclass(frozen=True, slots=True)
class PfopStatus:
    """``prefop`` status of a persistent job."""

    id: str
    code: int
    desc: str
    input_bucket: str = ""
    input_key: str = ""
    pipeline: str = ""
    items: tuple[PfopItem, ...] = ()
    raw: JsonMapping = field(default_factory=dict, repr=False)

    @property
    def finished(self) -> bool:
        """True once the job stopped (succeeded, failed or notification failed)."""
        return self.code not in (WAITING, PROCESSING)

    @property
    def succeeded(self) -> bool:
        """True when the job and every item succeeded."""
        return self.code == SUCCEEDED and all(i.code == SUCCEEDED for i in self.items)

    @classmethod
    def from_json(cls, body: JsonMapping) -> PfopStatus:
        """Parse a ``/status/get/prefop`` body."""
        try:
            items = tuple(PfopItem(cmd=str(i.get("cmd", "")), code=int(i.get("code", 0)),
                                   desc=str(i.get("desc", "")), error=str(i.get("error", "") or ""),
                                   hash=str(i.get("hash", "") or ""), key=str(i.get("key", "") or ""),
                                   return_old=int(i.get("returnOld", 0) or 0))
                          for i in body.get("items") or [])
            return cls(id=str(body["id"]), code=int(body["code"]), desc=str(body.get("desc", "")),
                       input_bucket=str(body.get("inputBucket", "")), input_key=str(body.get("inputKey", "")),
                       pipeline=str(body.get("pipeline", "")), items=items, raw=dict(body))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise errors.ServerError(f"malformed prefop status: {exc}") from exc


class FopApi:
    """``client.fop``."""

    def __init__(self, http: HttpClient, resolver: HostResolver, auth: QBoxAuth) -> None:
        self._http = http
        self._resolver = resolver
        self._auth = auth

    def pfop(self, bucket: str, key: str, fops: Sequence[str] | None = None, *, pipeline: str | None = None,
             notify_url: str | None = None, force: bool = False, persistent_type: int | None = None,
             workflow_template_id: str | None = None) -> str:
        """Submit processing of ``bucket:key``; returns the ``persistentId``.

        Give ``fops`` (joined with ``;``) or a ``workflow_template_id``.
        """
        if not fops and not workflow_template_id:
            raise ValueError("pfop needs fops or a workflow template id")
        form: list[tuple[str, str]] = [("bucket", bucket), ("key", key)]
        if pipeline:
            form.append(("pipeline", pipeline))
        if notify_url:
            form.append(("notifyURL", notify_url))
        if fops:
            form.append(("fops", ";".join(fops)))
        if force:
            form.append(("force", "1"))
        if persistent_type:
            form.append(("type", str(persistent_type)))
        if workflow_template_id:
            form.append(("workflowTemplateID", workflow_template_id))
        body = self._resolver.call("api", bucket, lambda hosts: self._http.request(
            "POST", hosts, "/pfop", data=urlencode(form), headers=FORM, auth=self._auth)).json_object()
        pid = body.get("persistentId")
        if not pid:
            raise errors.ServerError("pfop answered without persistentId")
        return str(pid)

    def status(self, persistent_id: str, bucket: str | None = None) -> PfopStatus:
        """The job's status (``bucket`` only matters for uc region lookup)."""
        body = self._http.request("GET", self._resolver.candidates("api", bucket),
                                  "/status/get/prefop?" + urlencode({"id": persistent_id}),
                                  auth=self._auth).json_object()
        return PfopStatus.from_json(body)
