"""Refusals: each gets Kodo's status and error body (with X-Reqid), and the store is unchanged."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
import qiniu
import requests

from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator.helpers import entry, error_of, mgmt, up_token
from tests.fixtures.emulator import sdk_for

B = "test-bucket"


def _snapshot(emulator: RunningEmulator) -> list[tuple[str, str, str, int]]:
    rows = []
    for bucket in emulator.store.list_buckets():
        items, _, _ = emulator.store.list(bucket)
        rows += [(bucket, o.key, o.hash, o.type) for o in items]
    return rows


@pytest.fixture
def seeded(emulator: RunningEmulator) -> RunningEmulator:
    auth, _ = sdk_for(emulator)
    for key in ("exists", "other"):
        ret, info = qiniu.put_data(auth.upload_token(B, key), key, key.encode())
        assert info.status_code == 200
    return emulator


def _form(emulator: RunningEmulator, token: str, key: str | None, data: bytes,
          mime: str = "application/octet-stream", fname: str = "f") -> requests.Response:
    fields: dict[str, Any] = {"token": (None, token)}
    if key is not None:
        fields["key"] = (None, key)
    fields["file"] = (fname, data, mime)
    return requests.post(emulator.url + "/", files=fields, timeout=30)


def _v2(emulator: RunningEmulator, token: str, key: str) -> tuple[str, str]:
    obj = base64.urlsafe_b64encode(key.encode()).decode()
    base = f"{emulator.url}/buckets/{B}/objects/{obj}/uploads"
    resp = requests.post(base, headers={"Authorization": f"UpToken {token}"}, timeout=30)
    assert resp.status_code == 200, resp.text
    return base, resp.json()["uploadId"]


CASES: dict[str, tuple[Callable[[RunningEmulator], requests.Response], int, str]] = {
    "bad signature (rs)": (lambda e: mgmt(e, "POST", f"/delete/{entry(B, 'exists')}", secret_key="wrong"),
                           401, "bad token"),
    "unsigned (rs)": (lambda e: requests.post(f"{e.url}/delete/{entry(B, 'exists')}", timeout=30), 401, "bad token"),
    "bad signature (batch)": (lambda e: mgmt(e, "POST", "/batch", secret_key="wrong",
                                             data={"op": f"delete/{entry(B, 'exists')}"}), 401, "bad token"),
    "forged upload token": (lambda e: _form(e, up_token(e, B, "new", secret_key="wrong"), "new", b"x"),
                            401, "bad token"),
    "missing upload token": (lambda e: _form(e, "", "new", b"x"), 401, "token not specified"),
    "expired token": (lambda e: _form(e, up_token(e, B, "new", expires=-10), "new", b"x"), 401, "token out of date"),
    "key outside scope": (lambda e: _form(e, up_token(e, B, "allowed"), "new", b"x"), 403, "key doesn't match scope"),
    "key outside prefixal scope": (lambda e: _form(e, up_token(e, B, "pre/", policy={"isPrefixalScope": 1}),
                                                   "other/x", b"x"), 403, "key doesn't match scope"),
    "prefixal scope cannot overwrite": (lambda e: _form(e, up_token(e, B, "ex", policy={"isPrefixalScope": 1}),
                                                        "exists", b"changed"), 614, "file exists"),
    "insertOnly overwrite": (lambda e: _form(e, up_token(e, B, "exists", policy={"insertOnly": 1}),
                                             "exists", b"changed"), 614, "file exists"),
    "bucket scope overwrite": (lambda e: _form(e, up_token(e, B), "exists", b"changed"), 614, "file exists"),
    "fsizeLimit": (lambda e: _form(e, up_token(e, B, "big", policy={"fsizeLimit": 3}), "big", b"four"),
                   413, "file size too large"),
    "fsizeMin": (lambda e: _form(e, up_token(e, B, "tiny", policy={"fsizeMin": 10}), "tiny", b"four"),
                 403, "file size too small"),
    "mimeLimit": (lambda e: _form(e, up_token(e, B, "img", policy={"mimeLimit": "image/*"}), "img", b"plain text",
                                  mime="image/png"), 403, "file mimeType not allowed"),
    "negated mimeLimit": (lambda e: _form(e, up_token(e, B, "t", policy={"mimeLimit": "!text/plain"}), "t",
                                          b"plain text"), 403, "file mimeType not allowed"),
    "callbackUrl without callbackBody": (lambda e: _form(e, up_token(e, B, "cb", policy={
        "callbackUrl": "http://127.0.0.1:9/cb"}), "cb", b"x"), 400, "callbackBody is required with callbackUrl"),
    "trafficLimit out of range": (lambda e: _form(e, up_token(e, B, "tl", policy={"trafficLimit": 10}, strict=False),
                                                  "tl", b"x"), 400, ""),
    "persistentOps with archive": (lambda e: _form(e, up_token(e, B, "po", policy={
        "persistentOps": "avinfo", "fileType": 2}), "po", b"x"), 400, ""),
    "unknown bucket (upload)": (lambda e: _form(e, up_token(e, "nope", "k"), "k", b"x"), 631, "no such bucket"),
    "unknown bucket (rs)": (lambda e: mgmt(e, "POST", f"/stat/{entry('nope', 'k')}"), 631, "no such bucket"),
    "missing key (delete)": (lambda e: mgmt(e, "POST", f"/delete/{entry(B, 'missing')}"), 612,
                             "no such file or directory"),
    "missing key (move)": (lambda e: mgmt(e, "POST", f"/move/{entry(B, 'missing')}/{entry(B, 'x')}/force/true"),
                           612, "no such file or directory"),
    "move onto existing": (lambda e: mgmt(e, "POST", f"/move/{entry(B, 'exists')}/{entry(B, 'other')}/force/false"),
                           614, "file exists"),
    "malformed entry": (lambda e: mgmt(e, "POST", "/stat/%%%%"), 400, ""),
    "malformed form (no file)": (lambda e: requests.post(e.url + "/", files={"token": (None, up_token(e, B, "k")),
                                                                            "key": (None, "k")}, timeout=30),
                                 400, "file is not specified in multipart"),
    "form not multipart": (lambda e: requests.post(e.url + "/", data=b"junk", timeout=30), 400, ""),
    "unknown route": (lambda e: requests.get(e.url + "/no/such/route", timeout=30), 404, ""),
    "malformed mkfile ctx": (lambda e: requests.post(f"{e.url}/mkfile/5", data=b"garbage-ctx",
                                                     headers={"Authorization": f"UpToken {up_token(e, B, 'k')}"},
                                                     timeout=30), 701, ""),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refusal_has_kodo_status_and_leaves_store_unchanged(seeded: RunningEmulator, case: str) -> None:
    call, status, message = CASES[case]
    before = _snapshot(seeded)
    resp = call(seeded)
    got_status, got_message = error_of(resp)
    assert got_status == status, resp.text
    if message:
        assert got_message == message
    assert _snapshot(seeded) == before


def test_bucket_scope_same_content_is_not_a_conflict(seeded: RunningEmulator) -> None:
    resp = _form(seeded, up_token(seeded, B), "exists", b"exists")
    assert resp.status_code == 200
    assert resp.json()["key"] == "exists"


def test_sdk_sees_614_for_insert_only(seeded: RunningEmulator) -> None:
    auth, _ = sdk_for(seeded)
    token = auth.upload_token(B, "exists", 3600, {"insertOnly": 1})
    ret, info = qiniu.put_data(token, "exists", b"different")
    assert ret is None or "error" in ret
    assert info.status_code == 614


def test_v2_part_with_wrong_content_md5_is_400_and_not_stored(seeded: RunningEmulator) -> None:
    token = up_token(seeded, B, "v2key")
    base, upload_id = _v2(seeded, token, "v2key")
    headers = {"Authorization": f"UpToken {token}", "Content-Type": "application/octet-stream"}
    resp = requests.put(f"{base}/{upload_id}/1", data=b"part-data",
                        headers={**headers, "Content-MD5": hashlib.md5(b"other").hexdigest()}, timeout=30)
    assert error_of(resp)[0] == 400
    listing = requests.get(f"{base}/{upload_id}", headers=headers, timeout=30).json()
    assert listing["parts"] == []
    ok = requests.put(f"{base}/{upload_id}/1", data=b"part-data",
                      headers={**headers, "Content-MD5": hashlib.md5(b"part-data").hexdigest()}, timeout=30)
    assert ok.status_code == 200 and ok.json()["md5"] == hashlib.md5(b"part-data").hexdigest()


def test_v2_complete_refusals(seeded: RunningEmulator) -> None:
    token = up_token(seeded, B, "v2key")
    base, upload_id = _v2(seeded, token, "v2key")
    headers = {"Authorization": f"UpToken {token}"}
    etag = requests.put(f"{base}/{upload_id}/1", data=b"abc", headers=headers, timeout=30).json()["etag"]
    before = _snapshot(seeded)
    cases = [
        (b"not json", 400),
        (json.dumps({"parts": [{"partNumber": 1, "etag": "wrong"}]}).encode(), 400),
        (json.dumps({"parts": [{"partNumber": 2, "etag": etag}]}).encode(), 400),
        (json.dumps({"parts": []}).encode(), 400),
    ]
    for body, status in cases:
        resp = requests.post(f"{base}/{upload_id}", data=body, headers=headers, timeout=30)
        assert error_of(resp)[0] == status, body
    resp = requests.post(f"{base}/no-such-id", data=b'{"parts":[]}', headers=headers, timeout=30)
    assert error_of(resp) == (612, "no such uploadId")
    assert _snapshot(seeded) == before
    # the session survived the refusals and still completes
    resp = requests.post(f"{base}/{upload_id}", json={"parts": [{"partNumber": 1, "etag": etag}]},
                         headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"hash": etag, "key": "v2key"}
    resp = requests.post(f"{base}/{upload_id}", json={"parts": [{"partNumber": 1, "etag": etag}]},
                         headers=headers, timeout=30)
    assert error_of(resp) == (612, "no such uploadId")


def test_v2_abort_forgets_session(seeded: RunningEmulator) -> None:
    token = up_token(seeded, B, "ab")
    base, upload_id = _v2(seeded, token, "ab")
    headers = {"Authorization": f"UpToken {token}"}
    requests.put(f"{base}/{upload_id}/1", data=b"abc", headers=headers, timeout=30)
    assert requests.delete(f"{base}/{upload_id}", headers=headers, timeout=30).status_code == 200
    assert error_of(requests.get(f"{base}/{upload_id}", headers=headers, timeout=30))[0] == 612
    assert seeded.uploads.count_sessions()["v2_uploads"] == 0


def test_v1_stale_ctx_is_701(seeded: RunningEmulator) -> None:
    token = up_token(seeded, B, "v1")
    headers = {"Authorization": f"UpToken {token}"}
    first = requests.post(f"{seeded.url}/mkblk/6", data=b"abc", headers=headers, timeout=30).json()
    assert first["crc32"] == __import__("zlib").crc32(b"abc") and first["offset"] == 3
    second = requests.post(f"{seeded.url}/bput/{first['ctx']}/3", data=b"def", headers=headers, timeout=30).json()
    assert second["offset"] == 6
    stale = requests.post(f"{seeded.url}/mkfile/6/key/{base64.urlsafe_b64encode(b'v1').decode()}",
                          data=first["ctx"].encode(), headers=headers, timeout=30)
    assert error_of(stale)[0] == 701
    good = requests.post(f"{seeded.url}/mkfile/6/key/{base64.urlsafe_b64encode(b'v1').decode()}",
                         data=second["ctx"].encode(), headers=headers, timeout=30)
    assert good.status_code == 200, good.text
    assert good.json()["hash"] == qiniu.utils.etag_stream(__import__("io").BytesIO(b"abcdef"))
