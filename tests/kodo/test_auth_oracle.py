"""Signatures and upload tokens checked against the official SDK and kodo-protocol.md vectors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import qiniu
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from qiniu.auth import QiniuMacAuth, QiniuMacRequestsAuth, RequestsAuth

from kodo_jobs.kodo.auth import (
    PutPolicy,
    QBoxAuth,
    QiniuAuth,
    UpTokenAuth,
    bucket_of_token,
    encoded_entry,
    upload_token,
)
from kodo_jobs.kodo.config import Credentials

AK, SK = "testak", "testsk"
CREDS = Credentials(AK, SK)
DATE = datetime(2024, 1, 1, tzinfo=UTC)


def _prepare(method: str, url: str, **kw: Any) -> requests.PreparedRequest:
    return requests.Request(method, url, **kw).prepare()


# --- vectors of kodo-protocol.md §2.2 / §2.3 ------------------------------------------------

def test_qbox_vectors() -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = QBoxAuth(CREDS)(_prepare("POST", "http://127.0.0.1:9400/pfop", data="bucket=b&key=k&fops=avinfo",
                                 headers=form))
    assert r.headers["Authorization"] == "QBox testak:B87Ld9Fsx45I1vm1LUBvakFfFbQ="
    r = QBoxAuth(CREDS)(_prepare("GET", "http://127.0.0.1:9400/status/get/prefop?id=z0.abc"))
    assert r.headers["Authorization"] == "QBox testak:ZBCTZbPtSM4J3y7Tf62L73N4nzA="


def test_qiniu_vectors() -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    auth = QiniuAuth(CREDS, clock=lambda: DATE)
    r = auth(_prepare("POST", "http://127.0.0.1:9400/stat/bXlidWNrZXQ6azE=", headers=form))
    assert r.headers["X-Qiniu-Date"] == "20240101T000000Z"
    assert r.headers["Authorization"] == "Qiniu testak:lZmDDPfDYoo8GTCDrgdRN-rvYQ4="
    body = "op=stat%2FbXlidWNrZXQ6azE%3D&op=delete%2FbXlidWNrZXQ6azI%3D"
    r = auth(_prepare("POST", "http://127.0.0.1:9400/batch", data=body, headers=form))
    assert r.headers["Authorization"] == "Qiniu testak:f6IZSfWx2hBP67xBjzgr9L9m_uA="
    r = auth(_prepare("GET", "http://127.0.0.1:9400/list?bucket=mybucket&limit=10&prefix=a&delimiter=%2F",
                      headers=form))
    assert r.headers["Authorization"] == "Qiniu testak:rmR7_VyE9-1jyZMYLo8zWTTy4Cg="


def test_entry_vectors() -> None:
    assert encoded_entry("mybucket", "k1") == "bXlidWNrZXQ6azE="
    assert encoded_entry("mybucket") == "bXlidWNrZXQ="


# --- the SDK as oracle ----------------------------------------------------------------------

_paths = st.text(alphabet="abcXYZ019-_./~%", min_size=0, max_size=20)
_bodies = st.one_of(st.none(), st.text(alphabet="abc=&%2F", min_size=0, max_size=30))
_cts = st.sampled_from([None, "application/x-www-form-urlencoded", "application/json",
                        "application/octet-stream"])


@settings(max_examples=60, deadline=None)
@given(path=_paths, query=_paths, body=_bodies, ct=_cts, method=st.sampled_from(["GET", "POST", "PUT"]))
def test_qbox_matches_sdk(path: str, query: str, body: str | None, ct: str | None, method: str) -> None:
    url = "http://127.0.0.1:9400/" + path + ("?" + query if query else "")
    headers = {"Content-Type": ct} if ct else {}
    ours = QBoxAuth(CREDS)(_prepare(method, url, data=body, headers=headers))
    sdk_req = _prepare(method, url, data=body, headers={"Content-Type": ct or ""})
    if ct is None:
        # the SDK's RequestsAuth indexes Content-Type; it treats '' like an absent header
        sdk_req.headers["Content-Type"] = ""
    theirs = RequestsAuth(qiniu.Auth(AK, SK))(sdk_req)
    assert ours.headers["Authorization"] == theirs.headers["Authorization"]


@settings(max_examples=60, deadline=None)
@given(path=_paths, query=_paths, body=_bodies, ct=_cts, method=st.sampled_from(["GET", "POST", "PUT"]),
       extra=st.dictionaries(st.sampled_from(["X-Qiniu-Foo", "X-Qiniu-Bar", "X-Other"]),
                             st.text(alphabet="abc123", min_size=1, max_size=5), max_size=3))
def test_qiniu_matches_sdk(path: str, query: str, body: str | None, ct: str | None, method: str,
                           extra: dict[str, str]) -> None:
    url = "http://127.0.0.1:9400/" + path + ("?" + query if query else "")
    headers = dict(extra)
    if ct:
        headers["Content-Type"] = ct
    ours = QiniuAuth(CREDS, clock=lambda: DATE)(_prepare(method, url, data=body, headers=headers))
    # the SDK signs with the same X-Qiniu-Date header when timestamps are disabled on its side
    sdk_headers = dict(headers, **{"X-Qiniu-Date": "20240101T000000Z"})
    if not ct:
        sdk_headers.pop("Content-Type", None)
    sdk_req = _prepare(method, url, data=body, headers=sdk_headers)
    if not ct:
        sdk_req.headers.pop("Content-Type", None)
        ours_without_ct = ours.headers.get("Content-Type")
        assert ours_without_ct is None or body
    mac = QiniuMacAuth(AK, SK, disable_qiniu_timestamp_signature=True)
    if ct:
        theirs = QiniuMacRequestsAuth(mac)(sdk_req)
        assert ours.headers["Authorization"] == theirs.headers["Authorization"]
    else:
        token = mac.token_of_request(method, None, sdk_req.url, mac.qiniu_headers(sdk_req.headers),
                                     sdk_req.headers.get("Content-Type"), sdk_req.body)
        assert ours.headers["Authorization"] == f"Qiniu {token}"


def test_uptoken_auth_header() -> None:
    r = UpTokenAuth("ak:sig:pol")(_prepare("POST", "http://127.0.0.1/mkblk/4"))
    assert r.headers["Authorization"] == "UpToken ak:sig:pol"


# --- upload tokens ---------------------------------------------------------------------------

def test_upload_token_vector(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = PutPolicy.from_mapping({"returnBody": '{"key":"$(key)"}', "insertOnly": 1}).bind(
        "mybucket", "k1", ttl=3600, now=1700000000)
    assert upload_token(CREDS, policy) == (
        "testak:RXCKbSomtzUpQvf-g7sXnu0_2r8=:eyJzY29wZSI6Im15YnVja2V0OmsxIiwiZGVhZGxpbmUiOjE3MDAwMDM2MDAsInJld"
        "HVybkJvZHkiOiJ7XCJrZXlcIjpcIiQoa2V5KVwifSIsImluc2VydE9ubHkiOjF9")


_POLICIES = [
    {},
    {"returnBody": '{"key":"$(key)","fsize":$(fsize)}', "insertOnly": 1},
    {"callbackUrl": "http://127.0.0.1/cb", "callbackBody": "key=$(key)", "callbackBodyType":
     "application/x-www-form-urlencoded", "callbackHost": "cb.example.com", "callbackFetchKey": 1},
    {"persistentOps": "avthumb/mp4", "persistentNotifyUrl": "http://n", "persistentPipeline": "p",
     "persistentType": 1, "fsizeMin": 1, "fsizeLimit": 1000, "detectMime": 1, "mimeLimit": "image/*",
     "fileType": 2, "deleteAfterDays": 3, "endUser": "u", "saveKey": "$(etag)", "forceSaveKey": True,
     "isPrefixalScope": 1, "keylimit": ["a", "b"], "returnUrl": "http://r",
     "persistentWorkflowTemplateID": "w"},
]


@pytest.mark.parametrize("policy", _POLICIES)
@pytest.mark.parametrize("key", ["k1", None, "中文/键 x"])
def test_upload_token_matches_sdk(monkeypatch: pytest.MonkeyPatch, policy: dict[str, Any],
                                  key: str | None) -> None:
    monkeypatch.setattr("time.time", lambda: 1700000000.5)
    theirs = qiniu.Auth(AK, SK).upload_token("mybucket", key, 3600, dict(policy) or None)
    ours = upload_token(CREDS, PutPolicy.from_mapping(policy).bind("mybucket", key, ttl=3600))
    assert ours == theirs
    assert bucket_of_token(ours) == "mybucket"


def test_policy_keeps_fields_the_sdk_drops() -> None:
    bound = PutPolicy.from_mapping({"trafficLimit": 819200}).bind("b", "k", ttl=10, now=0)
    decoded = json.loads(base64.urlsafe_b64decode(upload_token(CREDS, bound).split(":")[2]))
    assert decoded == {"scope": "b:k", "deadline": 10, "trafficLimit": 819200}


def test_policy_from_mapping_rejects_unknown_and_accepts_snake_case() -> None:
    with pytest.raises(ValueError, match="insertonly"):
        PutPolicy.from_mapping({"insertonly": 1})
    assert PutPolicy.from_mapping({"insert_only": 1}).to_dict() == {"insertOnly": 1}


def test_every_protocol_field_is_modelled() -> None:
    wire = set(PutPolicy.from_mapping({}).to_dict())
    assert wire == set()
    names = ["scope", "deadline", "isPrefixalScope", "insertOnly", "endUser", "returnUrl", "returnBody",
             "callbackUrl", "callbackHost", "callbackBody", "callbackBodyType", "callbackFetchKey",
             "persistentOps", "persistentNotifyUrl", "persistentPipeline", "persistentType",
             "persistentWorkflowTemplateID", "forceSaveKey", "saveKey", "fsizeMin", "fsizeLimit",
             "detectMime", "mimeLimit", "fileType", "deleteAfterDays", "trafficLimit", "keylimit"]
    full = PutPolicy.from_mapping({n: ["x"] if n == "keylimit" else 1 for n in names})
    assert set(full.to_dict()) == set(names)


def test_unbound_policy_cannot_make_a_token() -> None:
    with pytest.raises(ValueError, match="bind"):
        upload_token(CREDS, PutPolicy())


def test_credentials_repr_masks_secret() -> None:
    assert SK not in repr(CREDS) and "***" in repr(CREDS)
    with pytest.raises(ValueError):
        Credentials("a:b", "s")
