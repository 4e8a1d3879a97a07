"""Unit tests of the I/O-free service logic, with the official SDK as the oracle where it signs."""

from __future__ import annotations

import gzip
import json
import time
import urllib.parse
from pathlib import Path

import pytest
import qiniu
from qiniu.services.cdn.manager import create_timestamp_anti_leech_url

from kodo_jobs.emulator import callbacks, cdn, dlauth, remote


def test_cdn_quotas_limits_and_invalid(tmp_path: Path) -> None:
    svc = cdn.CdnService(tmp_path / "c.db", cdn.CdnLimits(url_quota=3, dir_quota=1, prefetch_quota=2,
                                                          urls_per_request=2, dirs_per_request=1))
    ok = svc.refresh(["http://a.com/1", "http://a.com/2"], ["http://a.com/d/"], "r1")
    assert (ok["urlSurplusDay"], ok["dirSurplusDay"], len(ok["taskIds"])) == (1, 0, 3)
    with pytest.raises(cdn.FusionError) as too_many:
        svc.refresh([f"http://a.com/{i}" for i in range(3)], None, "r2")
    assert too_many.value.code == 400034 and "one request" in too_many.value.message
    with pytest.raises(cdn.FusionError) as quota:
        svc.refresh(["http://a.com/3", "http://a.com/4"], None, "r3")
    assert quota.value.code == 400034 and "today" in quota.value.message
    with pytest.raises(cdn.FusionError) as dirq:
        svc.refresh(None, ["http://a.com/e/"], "r4")
    assert dirq.value.code == 400035
    with pytest.raises(cdn.FusionError) as bad:
        svc.refresh(["ftp://x/1", "http://a.com/ok"], ["http://a.com/nodir"], "r5")
    assert bad.value.code == 400031
    assert bad.value.body("r5")["invalidUrls"] == ["ftp://x/1"]
    assert bad.value.body("r5")["invalidDirs"] == ["http://a.com/nodir"]
    assert svc.prefetch(["http://a.com/p"], "r6")["surplusDay"] == 1
    listed = svc.list_tasks("refresh", {"requestId": "r1"}, "x")
    assert listed["total"] == 3 and {i["isDir"] for i in listed["items"]} == {"yes", "no"}
    assert svc.list_tasks("prefetch", {}, "x")["total"] == 1
    svc.close()
    # Quotas survive a restart.
    again = cdn.CdnService(tmp_path / "c.db", cdn.CdnLimits(url_quota=3))
    assert again.refresh(["http://a.com/z"], None, "r7")["urlSurplusDay"] == 0
    again.close()


def test_cdn_traffic_is_deterministic_and_sized() -> None:
    q = {"domains": "a.com;b.com", "startDate": "2024-01-01", "endDate": "2024-01-02", "granularity": "hour"}
    one, two = cdn.traffic(q, bandwidth=False), cdn.traffic(q, bandwidth=False)
    assert one == two
    assert len(one["time"]) == 48 and set(one["data"]) == {"a.com", "b.com"}
    assert len(one["data"]["a.com"]["china"]) == 48
    assert one["data"]["a.com"] != one["data"]["b.com"]
    assert len(cdn.traffic({**q, "granularity": "day"}, bandwidth=True)["time"]) == 2
    with pytest.raises(cdn.FusionError):
        cdn.traffic({**q, "granularity": "week"}, bandwidth=False)
    with pytest.raises(cdn.FusionError):
        cdn.traffic({**q, "type": "bandwidth"}, bandwidth=False)


def test_cdn_logs_listed_and_downloadable() -> None:
    listing = cdn.log_list({"domains": "a.com", "day": "2024-01-01"}, "http://127.0.0.1:9")
    files = listing["data"]["a.com"]
    assert len(files) == len(cdn.LOG_HOURS)
    name = files[0]["name"]
    content = cdn.log_content("a.com", "2024-01-01", name)
    assert content is not None and len(content) == files[0]["size"]
    assert b"a.com" in gzip.decompress(content)
    assert cdn.log_content("a.com", "2024-01-01", "other.gz") is None


# -- callbacks ----------------------------------------------------------------------------------
def test_render_body_form_and_json() -> None:
    variables = {"key": "a b&c", "fsize": 5, "x:foo": 'q"t', "imageInfo": {"width": 3}}
    body, ctype = callbacks.render_body({"callbackBody": "k=$(key)&s=$(fsize)&f=$(x:foo)&n=$(nope)"}, variables)
    assert (body, ctype) == (b"k=a%20b%26c&s=5&f=q%22t&n=", callbacks.FORM)
    policy = {"callbackBody": '{"key":"$(key)","fsize":$(fsize),"w":$(imageInfo.width),"f":"${x:foo}"}',
              "callbackBodyType": "application/json"}
    body, ctype = callbacks.render_body(policy, variables)
    assert ctype == callbacks.JSON
    assert json.loads(body) == {"key": "a b&c", "fsize": 5, "w": 3, "f": 'q"t'}


def test_callback_signature_verifies_with_sdk() -> None:
    auth = qiniu.Auth("ak", "sk")
    url, body = "http://127.0.0.1:9/cb?x=1", b"key=a&hash=b"
    sign = callbacks.qbox_sign("sk", url, body, callbacks.FORM)
    assert auth.verify_callback(f"QBox ak:{sign}", url, body.decode())


def test_remote_refuses_non_loopback() -> None:
    for url in ("http://example.com/a", "http://10.0.0.1/a", "file:///etc/passwd"):
        with pytest.raises(remote.RemoteError):
            remote.download(url, lambda chunk: None)
    assert remote.is_loopback_host("127.0.0.1") and remote.is_loopback_host("::1")
    assert not remote.is_loopback_host("localhost.example.com")


# -- download authorisation -----------------------------------------------------------------------
def test_private_url_from_sdk_is_accepted_and_tampering_refused() -> None:
    auth = qiniu.Auth("ak", "sk")
    signed = auth.private_download_url("http://127.0.0.1:9/dl/b/a%20b.txt", expires=60)
    parts = urllib.parse.urlsplit(signed)
    target = f"{parts.path}?{parts.query}"
    assert dlauth.private_url_problem("http", parts.netloc, target, "ak", "sk") is None
    assert dlauth.private_url_problem("http", parts.netloc, target.replace("a%20b", "a%20c"), "ak", "sk")
    assert dlauth.private_url_problem("http", parts.netloc, target, "ak", "other")
    assert dlauth.private_url_problem("http", parts.netloc, target, "ak", "sk", now=time.time() + 120) == \
        "token out of date"
    assert dlauth.private_url_problem("http", parts.netloc, parts.path, "ak", "sk")


def test_anti_leech_from_sdk_is_accepted_and_bad_refused() -> None:
    deadline = int(time.time()) + 60
    url = create_timestamp_anti_leech_url("http://127.0.0.1:9", "dl/b/中文 a.txt", None, "secret", deadline)
    parts = urllib.parse.urlsplit(url)
    assert dlauth.anti_leech_problem(parts.path, parts.query, "secret") is None
    assert dlauth.anti_leech_problem(parts.path, parts.query, "wrong")
    assert dlauth.anti_leech_problem(parts.path, parts.query, "secret", now=deadline + 10) == \
        "anti-leech link expired"
    assert dlauth.anti_leech_problem(parts.path, "", "secret")
    # Signed relative to the bucket (a CDN domain's view of the object) is accepted too.
    rel = create_timestamp_anti_leech_url("http://127.0.0.1:9/dl/b", "k.txt", "x=1", "secret", deadline)
    rparts = urllib.parse.urlsplit(rel)
    assert dlauth.anti_leech_problem(rparts.path, rparts.query, "secret", alt_paths=("/k.txt",)) is None
