"""The emulator's own verifier and qetag against the protocol's worked examples and the SDK."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest
import qiniu
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from kodo_jobs.emulator.errors import BadRequest, Forbidden, Unauthorized
from kodo_jobs.emulator.etag import BLOCK, StreamDigest, digest_bytes, etag_from_parts
from kodo_jobs.emulator.verify import (
    parse_upload_token,
    qbox_data,
    qiniu_data,
    sign,
    verify_anti_leech,
    verify_management,
    verify_private_url,
)

MiB = 1024 * 1024


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "Fto5o-5ea0sNMlW_75VgGJCv2AcJ"),
    (b"hello", "Fqr0xh3cxeii2r7eDztILNmuqUNN"),
    (b"etag", "FpLiADEaVoALPkdb8tJEJyRTXoe_"),
    (b"Hello, World!", "FgoKnypncpQlV6tTVddq9EL49l4B"),
    (bytes(4 * MiB), "FivMvS848VwT631aif2dhfWV4jvD"),
    (bytes(4 * MiB + 1), "lhCFgki5yzon0rjN9uJusf6qtsF6"),
    (bytes(6 * MiB), "lvxwSaB2VXJaY8dXRiat4RlrTPTZ"),
])
def test_qetag_vectors(data: bytes, expected: str) -> None:
    assert digest_bytes(data).etag == expected


def test_v2_etag_vectors() -> None:
    three = digest_bytes(bytes(3 * MiB)).etag
    assert etag_from_parts([3 * MiB, 3 * MiB], [three, three]) == "nt6L3Cf8vR5yEpsfeVawb6GCydTy"
    four, two = digest_bytes(bytes(4 * MiB)).etag, digest_bytes(bytes(2 * MiB)).etag
    assert etag_from_parts([4 * MiB, 2 * MiB], [four, two]) == "lvxwSaB2VXJaY8dXRiat4RlrTPTZ"


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(1, 700), max_size=6))
def test_streaming_digest_matches_sdk_in_any_chunking(data: bytes, cuts: list[int]) -> None:
    d = StreamDigest()
    pos = 0
    for c in cuts:
        d.update(data[pos:pos + c])
        pos += c
    d.update(data[pos:])
    assert d.etag == qiniu.utils.etag_stream(io.BytesIO(data))
    assert d.md5 == hashlib.md5(data).hexdigest()
    assert d.size == len(data)


def test_block_boundary_streaming() -> None:
    data = bytes(range(256)) * (BLOCK // 256) + b"tail"
    d = StreamDigest(with_md5=False)
    for i in range(0, len(data), 1_000_003):
        d.update(data[i:i + 1_000_003])
    assert d.etag == qiniu.utils.etag_stream(io.BytesIO(data))


def test_qbox_and_qiniu_worked_examples() -> None:
    assert sign("testsk", qbox_data("/pfop", "application/x-www-form-urlencoded",
                                    b"bucket=b&key=k&fops=avinfo")) == "B87Ld9Fsx45I1vm1LUBvakFfFbQ="
    assert sign("testsk", qbox_data("/status/get/prefop?id=z0.abc", "", b"")) == "ZBCTZbPtSM4J3y7Tf62L73N4nzA="
    hdr = [("X-Qiniu-Date", "20240101T000000Z")]
    ct = "application/x-www-form-urlencoded"
    assert sign("testsk", qiniu_data("POST", "/stat/bXlidWNrZXQ6azE=", "127.0.0.1:9400", ct, hdr, b"")) \
        == "lZmDDPfDYoo8GTCDrgdRN-rvYQ4="
    body = b"op=stat%2FbXlidWNrZXQ6azE%3D&op=delete%2FbXlidWNrZXQ6azI%3D"
    assert sign("testsk", qiniu_data("POST", "/batch", "127.0.0.1:9400", ct, hdr, body)) \
        == "f6IZSfWx2hBP67xBjzgr9L9m_uA="


def _request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Request:
    env = EnvironBuilder(method=method, path=path.split("?")[0], query_string=path.partition("?")[2],
                         headers=headers, data=body, base_url="http://127.0.0.1:9400").get_environ()
    env["REQUEST_URI"] = path
    return Request(env)


def test_verify_management_accepts_sdk_signatures_and_refuses_tampering() -> None:
    mac = qiniu.QiniuMacAuth("testak", "testsk")
    path = "/list?bucket=mybucket&limit=10&prefix=a&delimiter=%2F"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Qiniu-Date": "20240101T000000Z",
               "Host": "127.0.0.1:9400"}
    token = mac.token_of_request("GET", "127.0.0.1:9400", "http://127.0.0.1:9400" + path,
                                 "X-Qiniu-Date: 20240101T000000Z", "application/x-www-form-urlencoded", None)
    assert token == "testak:rmR7_VyE9-1jyZMYLo8zWTTy4Cg="  # kodo-protocol.md 2.3 worked example
    ok = _request("GET", path, {**headers, "Authorization": f"Qiniu {token}"})
    assert verify_management(ok, "testak", "testsk", b"") == "Qiniu"
    tampered = _request("GET", path.replace("limit=10", "limit=11"), {**headers, "Authorization": f"Qiniu {token}"})
    with pytest.raises(Unauthorized):
        verify_management(tampered, "testak", "testsk", b"")
    with pytest.raises(Unauthorized):
        verify_management(ok, "otherak", "testsk", b"")
    qbox = qiniu.Auth("testak", "testsk").token_of_request("http://127.0.0.1:9400/stat/abc")
    req = _request("POST", "/stat/abc", {"Authorization": f"QBox {qbox}"})
    assert verify_management(req, "testak", "testsk", b"") == "QBox"


def test_upload_token_worked_example_and_forgery() -> None:
    token = ("testak:RXCKbSomtzUpQvf-g7sXnu0_2r8=:eyJzY29wZSI6Im15YnVja2V0OmsxIiwiZGVhZGxpbmUiOjE3MDAwMDM2MDAsInJl"
             "dHVybkJvZHkiOiJ7XCJrZXlcIjpcIiQoa2V5KVwifSIsImluc2VydE9ubHkiOjF9")
    policy = parse_upload_token(token, "testak", "testsk")
    assert (policy.bucket, policy.scope_key, policy.deadline) == ("mybucket", "k1", 1700003600)
    assert policy.int_field("insertOnly") == 1
    for bad in (token.replace("testak:", "other:"), token[:-2], "a:b", "", token + "x"):
        with pytest.raises(Unauthorized):
            parse_upload_token(bad, "testak", "testsk")
    encoded = base64.urlsafe_b64encode(json.dumps({"scope": "b", "deadline": 1}).encode()).decode()
    with pytest.raises(Unauthorized):
        parse_upload_token(f"testak:{sign('wrong', encoded.encode())}:{encoded}", "testak", "testsk")


def test_private_url_and_anti_leech_examples() -> None:
    url = "http://dl.example.com/key.txt?e=1700003600"
    verify_private_url(url, "testak:kYz2IzrOHI9RiP7tfLvLuc_HkqQ=", "testak", "testsk", now=1700000000)
    with pytest.raises(Unauthorized):
        verify_private_url(url, "testak:kYz2IzrOHI9RiP7tfLvLuc_HkqQ=", "testak", "testsk", now=1700003601)
    with pytest.raises(Unauthorized):
        verify_private_url(url.replace("key", "kez"), "testak:kYz2IzrOHI9RiP7tfLvLuc_HkqQ=", "testak", "testsk",
                           now=1700000000)
    verify_anti_leech("/a.jpg", "cac204eb651a92b69831f0ecd66bad94", "6553f100", "secretkey123", now=1699999999)
    with pytest.raises(Forbidden):
        verify_anti_leech("/a.jpg", "cac204eb651a92b69831f0ecd66bad94", "6553f100", "secretkey123", now=1700000001)
    with pytest.raises(Forbidden):
        verify_anti_leech("/b.jpg", "cac204eb651a92b69831f0ecd66bad94", "6553f100", "secretkey123", now=1)


def test_bad_base64_is_400() -> None:
    from kodo_jobs.emulator.verify import decode_entry

    with pytest.raises(BadRequest):
        decode_entry("!!!")
    assert decode_entry(base64.urlsafe_b64encode(b"b:k:with:colons").decode()) == ("b", "k:with:colons")
    assert decode_entry(base64.urlsafe_b64encode(b"b").decode()) == ("b", None)
