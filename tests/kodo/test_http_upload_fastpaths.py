"""The per-upload shortcuts stay byte-identical to the straightforward code and to the SDK:
``mint_upload_token`` (template fields serialised once) against ``upload_token(bind(...))``
and ``qiniu.Auth.upload_token``; the uploader's tokens carry the policy it was given."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import qiniu
from hypothesis import given, settings
from hypothesis import strategies as st

from kodo_jobs.kodo import KodoClient
from kodo_jobs.kodo.auth import PutPolicy, mint_upload_token, upload_token
from kodo_jobs.kodo.config import Credentials

CREDS = Credentials("testak", "testsk")

_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "insertOnly": st.sampled_from([0, 1]), "returnBody": st.text(max_size=30),
    "callbackUrl": st.text(max_size=20), "callbackBody": st.text(max_size=20),
    "persistentOps": st.text(max_size=20), "fsizeLimit": st.integers(0, 2**40),
    "detectMime": st.sampled_from([0, 1]), "mimeLimit": st.text(max_size=10),
    "deleteAfterDays": st.integers(0, 3650), "forceSaveKey": st.booleans(), "saveKey": st.text(max_size=10),
    "keylimit": st.lists(st.text(max_size=5), max_size=3), "trafficLimit": st.integers(1, 10**9),
    "endUser": st.text(max_size=10), "fileType": st.integers(0, 3), "isPrefixalScope": st.sampled_from([0, 1]),
}


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(sorted(_VALUES)), unique=True, max_size=8))
    return {name: draw(_VALUES[name]) for name in names}  # the drawn order is the caller's order


@settings(max_examples=300, deadline=None)
@given(policy=policies(), key=st.one_of(st.none(), st.text(max_size=20)), now=st.floats(0, 2e9),
       ttl=st.integers(1, 10**6))
def test_mint_equals_bind_then_sign(policy: dict[str, Any], key: str | None, now: float, ttl: int) -> None:
    template = PutPolicy.from_mapping(policy)
    expected = upload_token(CREDS, template.bind("bkt", key, ttl=ttl, now=now))
    assert mint_upload_token(CREDS, template, "bkt", key, ttl=ttl, now=now) == expected
    # an equal template built again (as the sync does per file) hits the cache and still agrees
    again = PutPolicy.from_mapping(policy)
    assert mint_upload_token(CREDS, again, "bkt", key, ttl=ttl, now=now) == expected


def test_field_order_is_part_of_the_cache_key() -> None:
    a = PutPolicy.from_mapping({"insertOnly": 1, "returnBody": "r"})
    b = PutPolicy.from_mapping({"returnBody": "r", "insertOnly": 1})
    assert a == b  # field_order does not take part in equality...
    ta = mint_upload_token(CREDS, a, "b", "k", ttl=10, now=0)
    tb = mint_upload_token(CREDS, b, "b", "k", ttl=10, now=0)
    assert ta != tb  # ...but it orders the signed JSON
    assert tb == upload_token(CREDS, b.bind("b", "k", ttl=10, now=0))


@pytest.mark.parametrize("key", ["k1", None, "中文/键 x"])
def test_mint_matches_sdk(monkeypatch: pytest.MonkeyPatch, key: str | None) -> None:
    monkeypatch.setattr("time.time", lambda: 1700000000.5)
    policy = {"returnBody": '{"key":"$(key)"}', "insertOnly": 1, "deleteAfterDays": 3}
    theirs = qiniu.Auth("testak", "testsk").upload_token("mybucket", key, 3600, dict(policy))
    assert mint_upload_token(CREDS, PutPolicy.from_mapping(policy), "mybucket", key, ttl=3600) == theirs


def test_mint_rejects_what_bind_rejects() -> None:
    with pytest.raises(ValueError):
        mint_upload_token(CREDS, PutPolicy(), "", "k", ttl=10)
    with pytest.raises(ValueError):
        mint_upload_token(CREDS, PutPolicy(), "b", "k", ttl=0)


def test_uploader_token_carries_scope_deadline_and_policy() -> None:
    client = KodoClient.for_endpoint("http://127.0.0.1:9", "test-ak", "test-sk")  # never contacted
    token = client.upload.token("b", "k", PutPolicy.from_mapping({"insertOnly": 1}), ttl=60)
    decoded = json.loads(base64.urlsafe_b64decode(token.split(":")[2]))
    assert list(decoded) == ["scope", "deadline", "insertOnly"] and decoded["scope"] == "b:k"
    assert list(json.loads(base64.urlsafe_b64decode(client.upload.token("b", None).split(":")[2]))) == [
        "scope", "deadline"]
    client.close()
