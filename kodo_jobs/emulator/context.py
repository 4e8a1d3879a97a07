"""What a handler gets: ``RequestContext`` (one per request) and ``EmulatorState`` (shared).

Handler contract: ``def handler(ctx: RequestContext, **url_args) -> Response``. Handlers
parse the request, call ``ctx.store`` / ``ctx.uploads`` / ``verify``, and return a response
value (``responses.json_response`` ...). Any ``EmulatorError`` raised becomes Kodo's JSON
error body; ``app`` adds ``X-Reqid`` to every response.

Extension points on ``EmulatorState`` (for fops, callbacks, CDN):

* ``after_upload_hooks``: callables ``hook(ctx, policy, obj, custom_vars) -> dict | None``
  run in order by ``policy`` after any upload path stored an object (form, mkfile, v2
  complete). Before they run, ``ctx.upload_vars`` holds every magic variable of the upload
  (bucket, key, etag, fname, fsize, mimeType, endUser, ext, ... and the ``x:`` custom
  variables); a hook may add to it (``persistentId``), and later hooks, returnBody and the
  default body see the addition. The first hook that returns a dict replaces the response
  body (callback relay); raising ``CallbackFailed`` answers 579.
* ``services``: a free dict for shared service state (fops queue, CDN quotas ...).
* ``on_stop``: callables run once when the server stops (stop worker threads there).
* :func:`kodo_jobs.emulator.services.install` registers the upload hooks and starts the fop
  and CDN workers; the server calls it once at start-up.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request

from kodo_jobs.emulator.errors import BadRequest, Unauthorized
from kodo_jobs.emulator.jsontypes import JsonObject
from kodo_jobs.emulator.limits import CountingInput
from kodo_jobs.emulator.verify import FORM_TYPE, verify_management

if TYPE_CHECKING:
    from kodo_jobs.emulator.config import EmulatorConfig
    from kodo_jobs.emulator.store import ObjectInfo, Store
    from kodo_jobs.emulator.uploads import Uploads
    from kodo_jobs.emulator.verify import PutPolicy

AfterUploadHook = Callable[["RequestContext", "PutPolicy", "ObjectInfo", dict[str, str]], "JsonObject | None"]



@dataclass
class EmulatorState:
    """State shared by every request of one running emulator."""

    config: EmulatorConfig
    clock: Callable[[], float] = time.time
    url: str = ""
    after_upload_hooks: list[AfterUploadHook] = field(default_factory=list)
    services: dict[str, object] = field(default_factory=dict)
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def after_upload(self, ctx: RequestContext, policy: PutPolicy, obj: ObjectInfo,
                     custom_vars: dict[str, str]) -> JsonObject | None:
        """Run every after-upload hook; the first dict returned replaces the response body."""
        replacement: JsonObject | None = None
        for hook in list(self.after_upload_hooks):
            result = hook(ctx, policy, obj, custom_vars)
            if result is not None and replacement is None:
                replacement = result
        return replacement


@dataclass
class RequestContext:
    """One request: the werkzeug request plus everything a handler may touch."""

    request: Request
    store: Store
    uploads: Uploads
    config: EmulatorConfig
    emulator: EmulatorState
    reqid: str
    route: str = ""
    upload_vars: JsonObject = field(default_factory=dict)

    def now(self) -> float:
        """The emulator's clock (unix seconds)."""
        return self.emulator.clock()

    def body(self) -> bytes:
        """The whole request body (small bodies only: management requests), cached; 413 over
        :data:`MAX_SIGNED_BODY` (a chunked body too: the request's input enforces the cap)."""
        return self.request.get_data(cache=True)

    def allow_body(self, limit: int) -> None:
        """Raise this request's body cap (upload routes; every other request keeps
        :data:`MAX_SIGNED_BODY`). Call before reading the body."""
        stream = self.request.environ.get("wsgi.input")
        if isinstance(stream, CountingInput):
            stream.limit = limit

    def json_object(self, what: str = "body", *, empty: bytes = b"{}") -> JsonObject:
        """The body parsed as one JSON object (an empty body reads as ``empty``); BadRequest
        naming ``what`` when it is not JSON or not an object."""
        try:
            doc = json.loads(self.body() or empty)
        except ValueError as exc:
            raise BadRequest(f"{what} must be JSON") from exc
        if not isinstance(doc, dict):
            raise BadRequest(f"{what} must be a JSON object")
        return doc

    def require_mgmt_auth(self) -> str:
        """Accept a QBox or Qiniu (v2) signature by the configured key; 401 otherwise.

        Returns the scheme (``"QBox"`` or ``"Qiniu"``). The body is read only when the
        scheme signs it.
        """
        header = self.request.headers.get("Authorization", "")
        content_type = self.request.headers.get("Content-Type", "")
        if header.startswith("QBox ") and content_type != FORM_TYPE and self.request.mimetype == FORM_TYPE:
            # QBox signs the body only under exactly this Content-Type (kodo-protocol.md 2.2):
            # with parameters or other spelling, the form this handler would run is unsigned.
            raise Unauthorized("bad token: a QBox signature covers a form body only with "
                               f"Content-Type: {FORM_TYPE} exactly")
        needs_body = (header.startswith("QBox ") and content_type == FORM_TYPE) or (
            header.startswith("Qiniu ") and content_type and content_type != "application/octet-stream"
        )
        body = self.body() if needs_body else b""
        return verify_management(self.request, self.config.access_key, self.config.secret_key, body)

    def host(self) -> str:
        """``host:port`` the client addressed (the Host header), for self-referencing URLs."""
        return self.request.headers.get("Host") or self.emulator.url.split("//", 1)[-1]
