"""The lean in-memory multipart parser (``emulator.multipart``) against werkzeug's, and the
form-upload route through both paths (small bodies in memory, large ones streamed)."""

from __future__ import annotations

import io
import zlib

import pytest
import qiniu
import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st
from werkzeug.formparser import FormDataParser

from kodo_jobs.emulator.handlers import up
from kodo_jobs.emulator.multipart import parse_small
from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator.helpers import error_of, up_token

B = "test-bucket"


def _encode(fields: list[tuple[str, str]], files: list[tuple[str, str, bytes, str | None]]) -> tuple[bytes, str]:
    """A body as ``requests`` builds it (what the SDK sends): fields, then files."""
    files_arg = [(n, (None, v)) for n, v in fields] + [
        (n, (fn, data, ct) if ct else (fn, data)) for n, fn, data, ct in files]
    prepared = requests.Request("POST", "http://127.0.0.1/", files=files_arg).prepare()
    body = prepared.body
    assert isinstance(body, bytes)
    return body, prepared.headers["Content-Type"]


def _werkzeug(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, tuple[str, str | None, bytes]]]:
    mimetype, _, rest = content_type.partition(";")
    boundary = rest.split("boundary=", 1)[1]
    _, form, files = FormDataParser().parse(io.BytesIO(body), mimetype, len(body), {"boundary": boundary})
    return ({k: v for k, v in form.items()},
            {k: (f.filename or "", f.content_type, f.stream.read()) for k, f in files.items()})


def _boundary(content_type: str) -> str:
    return content_type.split("boundary=", 1)[1]


names = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters='"\\'), min_size=1,
                max_size=12)


@settings(max_examples=150, deadline=None)
@given(fields=st.lists(st.tuples(names, st.text(max_size=40)), max_size=6),
       data=st.binary(max_size=3000),
       filename=names,
       ctype=st.sampled_from([None, "application/octet-stream", "text/plain; charset=utf-8"]))
def test_same_fields_and_file_as_werkzeug(fields: list[tuple[str, str]], data: bytes, filename: str,
                                         ctype: str | None) -> None:
    body, content_type = _encode(fields, [("file", filename, data, ctype)])
    parsed = parse_small(body, _boundary(content_type))
    want_form, want_files = _werkzeug(body, content_type)
    assert parsed is not None
    assert parsed.fields == want_form
    got_files = {k: (p.filename, p.content_type, bytes(p.data)) for k, p in parsed.files.items()}
    assert got_files == want_files


def test_declines_what_it_does_not_handle_exactly() -> None:
    body, content_type = _encode([("token", "t")], [("file", "f", b"abc", None)])
    boundary = _boundary(content_type)
    assert parse_small(body, boundary) is not None
    assert parse_small(b"preamble\r\n" + body, boundary) is None
    assert parse_small(body.replace(b"\r\n", b"\n"), boundary) is None
    assert parse_small(body[:-10], boundary) is None  # no closing boundary
    assert parse_small(body, "other-boundary") is None
    assert parse_small(body, "") is None
    folded = body.replace(b'Content-Disposition: form-data; name="token"',
                          b'Content-Disposition: form-data;\r\n name="token"')
    assert parse_small(folded, boundary) is None


def test_field_named_file_without_filename_is_not_a_file() -> None:
    body, content_type = _encode([("file", "not a file")], [])
    parsed = parse_small(body, _boundary(content_type))
    assert parsed is not None
    assert parsed.files == {}
    assert parsed.fields == {"file": "not a file"}


def _post(emulator: RunningEmulator, body: bytes, content_type: str) -> requests.Response:
    return requests.post(emulator.url + "/", data=body, headers={"Content-Type": content_type}, timeout=30)


@pytest.mark.parametrize("small_limit", [up.SMALL_FORM, 0], ids=["in-memory", "streamed"])
def test_form_upload_both_paths(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, small_limit: int) -> None:
    monkeypatch.setattr(up, "SMALL_FORM", small_limit)
    data = bytes(range(256)) * 20
    token = up_token(emulator, B)
    body, ctype = _encode([("token", token), ("key", "k1"), ("crc32", str(zlib.crc32(data))), ("x:a", "1")],
                          [("file", "name.bin", data, "application/x-test")])
    resp = _post(emulator, body, ctype)
    assert resp.status_code == 200, resp.text
    assert resp.json()["hash"] == qiniu.utils.etag_stream(io.BytesIO(data))
    obj = emulator.store.stat(B, "k1")
    assert (obj.fsize, obj.mime) == (len(data), "application/x-test")
    with emulator.store.open_object(B, "k1") as f:
        assert f.read() == data
    bad_crc, ctype = _encode([("token", token), ("key", "k2"), ("crc32", "1")], [("file", "f", data, None)])
    assert error_of(_post(emulator, bad_crc, ctype))[0] == 406
    no_file, ctype = _encode([("token", token), ("key", "k3")], [])
    assert error_of(_post(emulator, no_file, ctype)) == (400, "file is not specified in multipart")
    lf_only, ctype = _encode([("token", token), ("key", "k4")], [("file", "f", b"abc", None)])
    resp = _post(emulator, lf_only.replace(b"\r\n", b"\n"), ctype)  # werkzeug's tolerance decides
    assert resp.status_code == 200, resp.text
    truncated, ctype = _encode([("token", token), ("key", "k5")], [("file", "f", b"abc", None)])
    assert _post(emulator, truncated[:-20], ctype).status_code == 400
    assert not emulator.store.exists(B, "k5")
    assert not list(emulator.store.db.tmp_dir.iterdir())


@settings(max_examples=300, deadline=None)
# a bare LF before a delimiter inside the first field (werkzeug ends the field there)
@example(data=b"\x00\x00", cut=0, flips=[(3494, b"\x00\x00")])
@given(data=st.binary(max_size=200), cut=st.integers(min_value=0, max_value=400),
       flips=st.lists(st.tuples(st.integers(min_value=0, max_value=10_000), st.binary(min_size=0, max_size=3)),
                      max_size=3))
def test_mutated_bodies_are_declined_or_read_like_werkzeug(data: bytes, cut: int,
                                                            flips: list[tuple[int, bytes]]) -> None:
    body, content_type = _encode([("token", "t"), ("key", "k")], [("file", "f.bin", data, "text/plain")])
    mutated = bytearray(body)
    for at, replacement in flips:
        at %= len(mutated)
        mutated[at:at + len(replacement)] = replacement
    if cut:
        del mutated[-min(cut, len(mutated)):]
    parsed = parse_small(bytes(mutated), _boundary(content_type))
    if parsed is None:
        return  # werkzeug decides, as before
    want_form, want_files = _werkzeug(bytes(mutated), content_type)
    assert parsed.fields == want_form
    assert {k: (p.filename, p.content_type, bytes(p.data)) for k, p in parsed.files.items()} == want_files
