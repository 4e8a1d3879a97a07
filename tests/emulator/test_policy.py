"""Pure parts of put-policy enforcement: template rendering, MIME detection and limits."""

from __future__ import annotations

import json

import pytest

from kodo_jobs.emulator.policy import UploadRequest, detect_mime, mime_allowed, render_template, sniff
from kodo_jobs.emulator.verify import PutPolicy

VARS = {"key": 'a "quoted" key', "fsize": 12, "bucket": "b", "x:foo": "bar&baz",
        "imageInfo": {"width": 640, "format": "png"}}


@pytest.mark.parametrize(("template", "expected"), [
    ('{"key":"$(key)","size":$(fsize)}', {"key": 'a "quoted" key', "size": 12}),
    ('{"key":$(key),"size":"$(fsize)"}', {"key": 'a "quoted" key', "size": "12"}),
    ('{"w":$(imageInfo.width),"info":$(imageInfo)}', {"w": 640, "info": {"width": 640, "format": "png"}}),
    ('{"foo":"${x:foo}","missing":"$(x:nope)","null":$(nope)}', {"foo": "bar&baz", "missing": "", "null": None}),
    ('{"esc":"a\\"$(bucket)\\"b"}', {"esc": 'a"b"b'}),
])
def test_render_json_templates(template: str, expected: dict[str, object]) -> None:
    assert json.loads(render_template(template, VARS)) == expected


def test_render_form_and_text_modes() -> None:
    assert render_template("k=$(key)&f=$(x:foo)", VARS, mode="form") == "k=a%20%22quoted%22%20key&f=bar%26baz"
    assert render_template("up/$(bucket)/$(fsize)$(nope)", VARS, mode="text") == "up/b/12"


@pytest.mark.parametrize(("limit", "mime", "allowed"), [
    ("image/*", "image/png", True),
    ("image/*", "text/plain", False),
    ("image/jpeg;image/png", "image/png", True),
    ("!application/json;text/plain", "text/plain", False),
    ("!application/json;text/plain", "image/png", True),
])
def test_mime_limit(limit: str, mime: str, allowed: bool) -> None:
    assert mime_allowed(limit, mime) is allowed


def _policy(**raw: object) -> PutPolicy:
    return PutPolicy(raw={"scope": "b", "deadline": 1, **raw}, bucket="b", scope_key=None)


def test_detect_mime_modes() -> None:
    png = b"\x89PNG\r\n\x1a\n...."
    req = UploadRequest(kind="form", fname="photo.jpg", client_mime="application/x-client")
    assert detect_mime(_policy(), req, "k", png) == "application/x-client"
    assert detect_mime(_policy(detectMime=1), req, "k", png) == "image/png"
    assert detect_mime(_policy(detectMime=-1), UploadRequest(kind="form"), "k", png) == "application/octet-stream"
    octet = UploadRequest(kind="form", fname="photo.jpg", client_mime="application/octet-stream")
    assert detect_mime(_policy(), octet, "k", png) == "image/jpeg"  # octet-stream counts as "not given"
    assert detect_mime(_policy(), UploadRequest(kind="form"), "k.html", b"<p>") == "text/html"
    assert detect_mime(_policy(), UploadRequest(kind="form"), "k", b"\x00\x01\xff") == "application/octet-stream"
    assert sniff(b"hello") == "text/plain"
