"""Issue 15 item 15, emulator side: bucket names follow Kodo's rule here too.

Kodo answers 400 to ``mkbucketv3`` with a name outside its rule (3-63 lowercase letters, digits
and '-', starting and ending with a letter or digit), so no such bucket can exist; the
emulator refuses the same names at start-up (``--bucket``), over ``mkbucketv3``, and never
auto-creates one for the embedded target.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kodo_jobs.emulator.config import parse_bucket
from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.errors import NoSuchBucket
from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.emulator.store import SqliteStore
from tests.emulator.helpers import mgmt

RULE = "3-63 lowercase letters, digits or '-', starting and ending with a letter or digit"
BAD = ["My_Bucket", "ab", "a_b", "Media", "-media", "media-", "a.b", "a" * 64]


@pytest.mark.parametrize("name", BAD)
def test_parse_bucket_refuses_names_kodo_refuses(name: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_bucket(name)
    assert str(info.value) == f"bucket {name!r} is not a Kodo bucket name: use {RULE}"


@pytest.mark.parametrize("name", ["abc", "my-bucket-2024", "a" * 63, "0-9"])
def test_parse_bucket_accepts_kodo_names(name: str) -> None:
    assert parse_bucket(f"{name}:private").name == name


@pytest.mark.parametrize("name", BAD)
def test_auto_create_never_makes_an_invalid_bucket(tmp_path: Path, name: str) -> None:
    store = SqliteStore(Database(tmp_path), clock=lambda: 0.0, auto_create=True)
    with pytest.raises(NoSuchBucket):
        store.put_object(name, "k", io.BytesIO(b"x"), mime="a/b", fsize=1, hash="h")
    assert store.list_buckets() == []


def test_mkbucketv3_answers_400_to_a_bad_name(emulator: RunningEmulator) -> None:
    bad = mgmt(emulator, "POST", "/mkbucketv3/Bad_Name/region/z0")
    assert bad.status_code == 400
    assert bad.json() == {"error": f"bucket 'Bad_Name' is not a Kodo bucket name: use {RULE}"}
    good = mgmt(emulator, "POST", "/mkbucketv3/good-name/region/z0")
    assert good.status_code == 200
