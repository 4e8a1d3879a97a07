"""Authentication edges (issue 15 item 5): the emulator refuses, with 401/403 and never 599,
whatever a signature or token looks like, and never runs a body its signature does not cover."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse

import pytest
import qiniu
import requests

from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator.helpers import entry, up_token
from tests.fixtures.emulator import sdk_for

B = "test-bucket"


def _qbox(emulator: RunningEmulator, target: str, body: bytes = b"", exact_form: bool = True) -> str:
    data = target.encode() + b"\n" + (body if exact_form else b"")
    sign = base64.urlsafe_b64encode(hmac.new(emulator.config.secret_key.encode(), data, hashlib.sha1).digest())
    return f"QBox {emulator.config.access_key}:{sign.decode()}"


@pytest.mark.parametrize("signature", ["é" * 28, "\u00ff" * 3, "abc\u00e9def"])
def test_non_ascii_management_signature_is_401(emulator: RunningEmulator, signature: str) -> None:
    target = f"/stat/{entry(B, 'k')}"
    header = f"QBox {emulator.config.access_key}:{signature}".encode("latin-1")
    resp = requests.post(emulator.url + target, headers={"Authorization": header}, timeout=30)
    assert resp.status_code == 401, resp.text


def test_non_ascii_private_download_token_is_401(emulator: RunningEmulator) -> None:
    auth, _ = sdk_for(emulator)
    qiniu.put_data(auth.upload_token("private-bucket", "p.txt"), "p.txt", b"secret")
    deadline = int(time.time()) + 3600
    url = f"{emulator.url}/dl/private-bucket/p.txt?e={deadline}&token={emulator.config.access_key}:%C3%A9%C3%A9"
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 401, resp.text
    assert b"secret" not in resp.content


def test_non_ascii_anti_leech_sign_is_403(emulator_factory: object) -> None:
    emulator = emulator_factory(anti_leech_key="leech")  # type: ignore[operator]
    auth, _ = sdk_for(emulator)
    qiniu.put_data(auth.upload_token(B, "a.txt"), "a.txt", b"data")
    t = format(int(time.time()) + 3600, "x")
    resp = requests.get(f"{emulator.url}/dl/{B}/a.txt?sign=%C3%A9%C3%A9&t={t}", timeout=30)
    assert resp.status_code == 403, resp.text


def test_non_ascii_upload_token_is_401(emulator: RunningEmulator) -> None:
    token = f"{emulator.config.access_key}:\u00e9\u00e9:eyJ9"
    resp = requests.post(emulator.url + "/mkblk/4", data=b"abcd",
                         headers={"Authorization": f"UpToken {token}".encode("latin-1")}, timeout=30)
    assert resp.status_code == 401, resp.text


@pytest.mark.parametrize("content_type", [
    "application/x-www-form-urlencoded; charset=utf-8",
    "application/x-www-form-urlencoded;charset=UTF-8",
    "Application/X-WWW-Form-Urlencoded",
])
def test_qbox_body_not_covered_by_signature_is_401_and_not_run(emulator: RunningEmulator,
                                                               content_type: str) -> None:
    auth, _ = sdk_for(emulator)
    qiniu.put_data(auth.upload_token(B, "victim"), "victim", b"v")
    body = urllib.parse.urlencode({"op": f"/delete/{entry(B, 'victim')}"}).encode()
    # QBox signs the body only for exactly application/x-www-form-urlencoded: this signature
    # covers the path alone, so nothing vouches for the ops in the body.
    headers = {"Authorization": _qbox(emulator, "/batch", body, exact_form=False), "Content-Type": content_type}
    resp = requests.post(emulator.url + "/batch", data=body, headers=headers, timeout=30)
    assert resp.status_code == 401, resp.text
    assert emulator.store.exists(B, "victim")


def test_qbox_pfop_body_not_covered_by_signature_is_not_run(emulator: RunningEmulator) -> None:
    auth, _ = sdk_for(emulator)
    qiniu.put_data(auth.upload_token(B, "in.txt"), "in.txt", b"x")
    body = urllib.parse.urlencode({"bucket": B, "key": "in.txt", "fops": "avinfo"}).encode()
    # text/plain: not a form (Kodo reads fields from form bodies only), and not signed by QBox
    headers = {"Authorization": _qbox(emulator, "/pfop", body, exact_form=False), "Content-Type": "text/plain"}
    resp = requests.post(emulator.url + "/pfop", data=body, headers=headers, timeout=30)
    assert resp.status_code == 400, resp.text
    assert "persistentId" not in resp.text
    headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    resp = requests.post(emulator.url + "/pfop", data=body, headers=headers, timeout=30)
    assert resp.status_code == 401, resp.text


def test_qbox_exact_form_type_still_accepted(emulator: RunningEmulator) -> None:
    auth, _ = sdk_for(emulator)
    qiniu.put_data(auth.upload_token(B, "gone"), "gone", b"g")
    body = urllib.parse.urlencode({"op": f"/delete/{entry(B, 'gone')}"}).encode()
    headers = {"Authorization": _qbox(emulator, "/batch", body), "Content-Type": "application/x-www-form-urlencoded"}
    resp = requests.post(emulator.url + "/batch", data=body, headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    assert not emulator.store.exists(B, "gone")


def _expired(emulator: RunningEmulator) -> str:
    policy = {"scope": B, "deadline": int(time.time()) - 60}
    encoded = base64.urlsafe_b64encode(json.dumps(policy).encode()).decode()
    sign = base64.urlsafe_b64encode(hmac.new(emulator.config.secret_key.encode(), encoded.encode(),
                                             hashlib.sha1).digest()).decode()
    return f"{emulator.config.access_key}:{sign}:{encoded}"


def test_expired_token_cannot_start_a_v1_block(emulator: RunningEmulator) -> None:
    resp = requests.post(emulator.url + "/mkblk/4", data=b"abcd",
                         headers={"Authorization": f"UpToken {_expired(emulator)}"}, timeout=30)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"] == "token out of date"
    assert emulator.uploads.count_sessions()["v1_blocks"] == 0


def test_expired_token_cannot_initiate_a_v2_upload(emulator: RunningEmulator) -> None:
    obj = base64.urlsafe_b64encode(b"k").decode()
    resp = requests.post(f"{emulator.url}/buckets/{B}/objects/{obj}/uploads",
                         headers={"Authorization": f"UpToken {_expired(emulator)}"}, timeout=30)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"] == "token out of date"
    assert emulator.uploads.count_sessions()["v2_uploads"] == 0


def test_valid_token_still_starts_both(emulator: RunningEmulator) -> None:
    token = up_token(emulator, B)
    resp = requests.post(emulator.url + "/mkblk/4", data=b"abcd",
                         headers={"Authorization": f"UpToken {token}"}, timeout=30)
    assert resp.status_code == 200, resp.text
    obj = base64.urlsafe_b64encode(b"k").decode()
    resp = requests.post(f"{emulator.url}/buckets/{B}/objects/{obj}/uploads",
                         headers={"Authorization": f"UpToken {token}"}, timeout=30)
    assert resp.status_code == 200, resp.text
