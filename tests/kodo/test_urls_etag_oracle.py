"""Download URLs and qetag checked against the official SDK and kodo-protocol.md vectors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import qiniu
from hypothesis import given, settings
from hypothesis import strategies as st

from kodo_jobs.kodo.config import Credentials
from kodo_jobs.kodo.etag import BLOCK_SIZE, EtagHasher, etag_bytes, etag_file, etag_file_v2, etag_v2
from kodo_jobs.kodo.urls import UrlSigner, private_download_url, public_url, timestamp_antileech_url

CREDS = Credentials("testak", "testsk")
MIB = 1024 * 1024


def test_private_url_vector() -> None:
    assert private_download_url(CREDS, "http://dl.example.com/key.txt", now=1700000000) == (
        "http://dl.example.com/key.txt?e=1700003600&token=testak:kYz2IzrOHI9RiP7tfLvLuc_HkqQ=")


@pytest.mark.parametrize("url", ["http://dl.example.com/a.txt", "http://d.com/x%20y?imageView2/1/w/2",
                                 "https://d.com/%E4%B8%AD"])
def test_private_url_matches_sdk(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setattr("time.time", lambda: 1700000123.9)
    assert UrlSigner(CREDS).private(url, expires=60) == qiniu.Auth("testak", "testsk").private_download_url(
        url, expires=60)


def test_private_object_encodes_key() -> None:
    assert public_url("http://d.com/", "dir/中 a.txt") == "http://d.com/dir/%E4%B8%AD%20a.txt"


def test_antileech_vectors() -> None:
    assert timestamp_antileech_url("http://cdn.example.com", "a.jpg", "secretkey123", 1700000000) == (
        "http://cdn.example.com/a.jpg?sign=cac204eb651a92b69831f0ecd66bad94&t=6553f100")
    assert timestamp_antileech_url("http://cdn.example.com", "dir/中文 a.jpg", "secretkey123", 1700000000,
                                   "imageView2/1/w/100") == (
        "http://cdn.example.com/dir/%E4%B8%AD%E6%96%87%20a.jpg?imageView2/1/w/100"
        "&sign=992eca02255e7789aff718d8c6b689cc&t=6553f100")


@settings(max_examples=50, deadline=None)
@given(name=st.text(min_size=1, max_size=20), query=st.sampled_from(["", "a=1", "imageView2/1/w/100"]),
       deadline=st.integers(min_value=0, max_value=2**33))
def test_antileech_matches_sdk(name: str, query: str, deadline: int) -> None:
    theirs = qiniu.create_timestamp_anti_leech_url("https://c.com", name, query, "k3y", deadline)
    assert timestamp_antileech_url("https://c.com", name, "k3y", deadline, query) == theirs


VECTORS = [
    (b"", "Fto5o-5ea0sNMlW_75VgGJCv2AcJ"),
    (b"hello", "Fqr0xh3cxeii2r7eDztILNmuqUNN"),
    (b"etag", "FpLiADEaVoALPkdb8tJEJyRTXoe_"),
    (b"Hello, World!", "FgoKnypncpQlV6tTVddq9EL49l4B"),
    (bytes(4 * MIB), "FivMvS848VwT631aif2dhfWV4jvD"),
    (bytes(4 * MIB + 1), "lhCFgki5yzon0rjN9uJusf6qtsF6"),
    (bytes(6 * MIB), "lvxwSaB2VXJaY8dXRiat4RlrTPTZ"),
]


@pytest.mark.parametrize(("data", "expected"), VECTORS, ids=[str(len(v[0])) for v in VECTORS])
def test_etag_vectors(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "f"
    path.write_bytes(data)
    assert etag_bytes(data) == expected
    assert etag_file(path) == expected
    hasher = EtagHasher()
    for i in range(0, len(data), 1_000_003):
        hasher.update(data[i:i + 1_000_003])
    assert hasher.etag() == expected and hasher.size == len(data)


@pytest.mark.parametrize("size", [0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 9 * MIB])
def test_etag_matches_sdk_on_boundaries(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f"
    path.write_bytes(os.urandom(size))
    assert etag_file(path) == qiniu.etag(str(path))


@settings(max_examples=25, deadline=None)
@given(size=st.integers(min_value=0, max_value=9 * MIB), seed=st.binary(min_size=1, max_size=8))
def test_etag_matches_sdk_random_sizes(tmp_path_factory: pytest.TempPathFactory, size: int,
                                       seed: bytes) -> None:
    path = tmp_path_factory.mktemp("etag") / "f"
    data = (seed * (size // len(seed) + 1))[:size]
    path.write_bytes(data)
    ours = etag_file(path)
    assert ours == qiniu.etag(str(path)) == etag_bytes(data)
    path.unlink()


def test_etag_v2_vectors(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(bytes(6 * MIB))
    assert etag_file_v2(path, 3 * MIB) == "nt6L3Cf8vR5yEpsfeVawb6GCydTy"
    assert etag_file_v2(path, 4 * MIB) == "lvxwSaB2VXJaY8dXRiat4RlrTPTZ"
    half = etag_bytes(bytes(3 * MIB))
    assert etag_v2([half, half], [3 * MIB, 3 * MIB]) == "nt6L3Cf8vR5yEpsfeVawb6GCydTy"
    with pytest.raises(ValueError):
        etag_v2([half], [1, 2])
