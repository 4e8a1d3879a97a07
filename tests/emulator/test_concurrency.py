"""Parallel clients and keep-alive hygiene: refused requests with unread bodies must not
desynchronise the connection, and concurrent writers must not trip over SQLite."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import qiniu
import requests

from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator.helpers import entry, mgmt, up_token
from tests.fixtures.emulator import sdk_for


def test_refused_body_is_drained_and_connection_reused(emulator: RunningEmulator) -> None:
    body = b"z" * (2 * 1024 * 1024 + 17)
    emulator.reset_stats()
    with requests.Session() as session:
        bad = session.post(f"{emulator.url}/mkblk/{len(body)}", data=body,
                           headers={"Authorization": "UpToken not-a-token"}, timeout=30)
        assert bad.status_code == 401
        ok = session.get(emulator.url + "/v4/query?ak=test-ak&bucket=test-bucket", timeout=30)
        assert ok.status_code == 200 and ok.json()["hosts"]
    stats = emulator.stats()
    assert stats["bytes_received"] == len(body)
    assert stats["requests"] == {"up.mkblk": 1, "uc.query_v4": 1}


def test_parallel_uploads_and_rs_calls(emulator: RunningEmulator) -> None:
    auth, _ = sdk_for(emulator)

    def work(i: int) -> str:
        key = f"p/{i:03d}"
        data = f"payload {i}".encode() * (i + 1)
        ret, info = qiniu.put_data(auth.upload_token("test-bucket", key), key, data)
        assert info.status_code == 200, info
        assert mgmt(emulator, "POST", f"/copy/{entry('test-bucket', key)}/{entry('other-bucket', key)}"
                                      "/force/true").status_code == 200
        assert mgmt(emulator, "POST", f"/stat/{entry('other-bucket', key)}").json()["hash"] == ret["hash"]
        assert ret["hash"] == qiniu.utils.etag_stream(io.BytesIO(data))
        return str(ret["hash"])

    with ThreadPoolExecutor(8) as pool:
        hashes = list(pool.map(work, range(48)))
    assert len(set(hashes)) == 48
    assert emulator.stats()["objects"] == 96
    items, _, marker = emulator.store.list("other-bucket", prefix="p/")
    assert [o.key for o in items] == [f"p/{i:03d}" for i in range(48)] and marker == ""


def test_token_scope_bucket_must_match_v2_url(emulator: RunningEmulator) -> None:
    token = up_token(emulator, "other-bucket", "k")
    resp = requests.post(f"{emulator.url}/buckets/test-bucket/objects/aw==/uploads",
                         headers={"Authorization": f"UpToken {token}"}, timeout=30)
    assert resp.status_code == 403
    assert emulator.uploads.count_sessions()["v2_uploads"] == 0
