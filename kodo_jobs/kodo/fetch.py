"""fetch (io, synchronous), prefetch (io, mirror) and async fetch (api ``/sisyphus/fetch``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from . import errors
from .auth import QiniuAuth, encoded_entry, urlsafe_b64
from .hosts import HostResolver
from .http import HttpClient
from .jsontypes import JsonMapping, JsonObject
from .rs import FORM


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The object a fetch stored."""

    key: str
    hash: str
    fsize: int
    mime_type: str


@dataclass(frozen=True, slots=True)
class AsyncFetchRequest:
    """Parameters of ``/sisyphus/fetch`` (kodo-protocol.md §6.3); ``urls`` are tried in turn."""

    urls: tuple[str, ...]
    bucket: str
    key: str | None = None
    host: str | None = None
    md5: str | None = None
    etag: str | None = None
    callback_url: str | None = None
    callback_body: str | None = None
    callback_body_type: str | None = None
    callback_host: str | None = None
    file_type: int | None = None
    ignore_same_key: bool | None = None

    def to_json(self) -> JsonObject:
        """The request body (unset fields left out)."""
        if not self.urls:
            raise ValueError("async fetch needs at least one URL")
        body: JsonObject = {"url": ";".join(self.urls), "bucket": self.bucket}
        for name, wire in (("key", "key"), ("host", "host"), ("md5", "md5"), ("etag", "etag"),
                           ("callback_url", "callbackurl"), ("callback_body", "callbackbody"),
                           ("callback_body_type", "callbackbodytype"), ("callback_host", "callbackhost"),
                           ("file_type", "file_type"), ("ignore_same_key", "ignore_same_key")):
            value = getattr(self, name)
            if value is not None:
                body[wire] = value
        return body


@dataclass(frozen=True, slots=True)
class AsyncFetchTask:
    """An async fetch task: its id and ``wait`` (tasks ahead; 0 running; -1 already done)."""

    id: str
    wait: int
    raw: JsonMapping = field(default_factory=dict, repr=False)

    @property
    def done(self) -> bool:
        """True when the task has been processed at least once."""
        return self.wait == -1


class FetchApi:
    """``client.fetch``."""

    def __init__(self, http: HttpClient, resolver: HostResolver, auth: QiniuAuth) -> None:
        self._http = http
        self._resolver = resolver
        self._auth = auth

    def fetch(self, url: str, bucket: str, key: str | None = None, *, host: str | None = None) -> FetchResult:
        """Have Kodo download ``url`` into ``bucket:key`` now (478 -> BadRequest on source failure)."""
        path = f"/fetch/{urlsafe_b64(url)}/to/{encoded_entry(bucket, key)}"
        if host:
            path += f"/host/{urlsafe_b64(host)}"
        body = self._resolver.call("io", bucket, lambda hosts: self._http.request(
            "POST", hosts, path, headers=FORM, auth=self._auth)).json_object()
        try:
            return FetchResult(key=str(body.get("key", key or "")), hash=str(body["hash"]),
                               fsize=int(body.get("fsize", 0)), mime_type=str(body.get("mimeType", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise errors.ServerError(f"malformed fetch result: {exc}") from exc

    def prefetch(self, bucket: str, key: str) -> None:
        """Refresh ``key`` from the bucket's mirror origin."""
        self._resolver.call("io", bucket, lambda hosts: self._http.request(
            "POST", hosts, f"/prefetch/{encoded_entry(bucket, key)}", headers=FORM, auth=self._auth))

    def async_fetch(self, request: AsyncFetchRequest) -> AsyncFetchTask:
        """Queue an asynchronous fetch; poll it with :meth:`async_fetch_status`."""
        body = self._resolver.call("api", request.bucket, lambda hosts: self._http.request(
            "POST", hosts, "/sisyphus/fetch", json_body=request.to_json(), auth=self._auth)).json_object()
        return AsyncFetchTask(id=str(body.get("id", "")), wait=int(body.get("wait", 0)), raw=body)

    def async_fetch_status(self, task_id: str, bucket: str | None = None) -> AsyncFetchTask:
        """The state of an async fetch task (``bucket`` only matters for uc region lookup)."""
        body = self._http.request("GET", self._resolver.candidates("api", bucket),
                                  "/sisyphus/fetch?" + urlencode({"id": task_id}), headers=FORM,
                                  auth=self._auth).json_object()
        return AsyncFetchTask(id=str(body.get("id", task_id)), wait=int(body.get("wait", 0)), raw=body)
