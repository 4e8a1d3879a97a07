"""api service: `/pfop` (persistent processing), `/status/get/prefop`, `/sisyphus/fetch`.

pfop jobs live in `emulator.fops.engine.FopEngine` (simulated, persisted, advanced in the background);
async fetches in `emulator.services.Services`. Both accept QBox or Qiniu signatures.
"""

from __future__ import annotations

import urllib.parse

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from kodo_jobs.emulator import services
from kodo_jobs.emulator.context import RequestContext
from kodo_jobs.emulator.errors import BadRequest, EmulatorError, NoSuchKey
from kodo_jobs.emulator.fops.commands import FopError
from kodo_jobs.emulator.responses import json_response
from kodo_jobs.emulator.verify import FORM_TYPE


class _FopRefused(EmulatorError):
    def __init__(self, err: FopError) -> None:
        self.status = err.status
        super().__init__(err.message)


def pfop(ctx: RequestContext) -> Response:
    """`POST /pfop` (form: bucket, key, fops, notifyURL, force, pipeline, type)."""
    ctx.require_mgmt_auth()
    # Only a form-urlencoded body holds fields (a QBox signature covers no other body).
    text = ctx.body().decode("utf-8", "replace") if ctx.request.mimetype == FORM_TYPE else ""
    form = {k: v[-1] for k, v in urllib.parse.parse_qs(text).items()}
    bucket, key = form.get("bucket", ""), form.get("key", "")
    if not bucket or not key:
        raise BadRequest("bucket and key are required")
    if form.get("workflowTemplateID") and not form.get("fops"):
        raise BadRequest("workflow templates are not simulated by the emulator; send fops")
    if not form.get("fops"):
        raise BadRequest("fops is required")
    try:
        persistent_type = int(form.get("type") or 0)
    except ValueError as exc:
        raise BadRequest("type must be 0 or 1") from exc
    try:
        job_id = services.of(ctx).fops.submit(
            bucket, key, form["fops"], pipeline=form.get("pipeline"), notify_url=form.get("notifyURL"),
            force=form.get("force") == "1", persistent_type=persistent_type, reqid=ctx.reqid,
        )
    except FopError as exc:
        raise _FopRefused(exc) from exc
    return json_response({"persistentId": job_id})


def prefop(ctx: RequestContext) -> Response:
    """`GET /status/get/prefop?id=`, or a form POST with `id` (the Node.js SDK): the job's
    status, 612 for an unknown id. No credentials, as Kodo documents: a persistentId is
    unguessable and the status reveals no content."""
    job_id = ctx.request.args.get("id", "")
    if not job_id and ctx.request.method == "POST" and ctx.request.mimetype == FORM_TYPE:
        job_id = ctx.request.form.get("id", "")
    status = services.of(ctx).fops.status(job_id) if job_id else None
    if status is None:
        raise NoSuchKey(f"no such persistentId {job_id!r}")
    return json_response(status)


def sisyphus(ctx: RequestContext) -> Response:
    """`POST /sisyphus/fetch` (JSON task) queues; `GET /sisyphus/fetch?id=` reports `wait`."""
    ctx.require_mgmt_auth()
    svc = services.of(ctx)
    if ctx.request.method == "GET":
        return json_response(svc.fetch_status(ctx.request.args.get("id", "")))
    return json_response(svc.queue_fetch(ctx.json_object()))


RULES: list[Rule] = [
    Rule("/pfop", endpoint=pfop, methods=["POST"]),
    Rule("/pfop/", endpoint=pfop, methods=["POST"]),
    Rule("/status/get/prefop", endpoint=prefop, methods=["GET", "POST"]),
    Rule("/sisyphus/fetch", endpoint=sisyphus, methods=["GET", "POST"]),
]
