"""rsf listing: prefix, delimiter and marker paging, checked against a plain reference model
(byte-order keys; common prefixes count toward the limit; a marker ending on a group skips it)."""

from __future__ import annotations

import io

import pytest
import qiniu

from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.emulator.store.object_info import ObjectInfo
from tests.fixtures.emulator import sdk_for

KEYS = [
    "a", "a/1", "a/2", "a/b/3", "a/b/4", "a0", "b/1", "b/2", "b/3", "c", "c/", "c//d",
    "d/é", "d/z", "d/中文", "e\U0001f600", "e~", "logs/2024/01/x", "logs/2024/02/y", "logs/2025/01/z",
]


def reference(keys: list[str], prefix: str, delimiter: str) -> list[tuple[str, str]]:
    """Every entry a full listing must yield, in order: ("item", key) or ("prefix", p)."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key in sorted(keys, key=lambda k: k.encode("utf-8")):
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix):]
        if delimiter and delimiter in rest:
            common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
            if common not in seen:
                seen.add(common)
                out.append(("prefix", common))
        else:
            out.append(("item", key))
    return out


def _fill(emulator: RunningEmulator) -> None:
    for key in KEYS:
        emulator.store.put_object("test-bucket", key, io.BytesIO(key.encode()), mime="text/plain",
                                  fsize=len(key.encode()), hash="h")


def _walk(emulator: RunningEmulator, prefix: str, delimiter: str, limit: int) -> tuple[list[tuple[str, str]], int]:
    _, bm = sdk_for(emulator)
    marker = None
    out: list[tuple[str, str]] = []
    pages = 0
    while True:
        ret, eof, info = bm.list("test-bucket", prefix=prefix or None, marker=marker, limit=limit,
                                 delimiter=delimiter or None)
        assert info.status_code == 200, info
        pages += 1
        assert len(ret["items"]) + len(ret.get("commonPrefixes", [])) <= limit
        # within a page, items and prefixes interleave in key order: merge them back
        page = [("item", i["key"]) for i in ret["items"]] + [("prefix", p) for p in ret.get("commonPrefixes", [])]
        page.sort(key=lambda e: e[1].encode("utf-8"))
        out.extend(page)
        marker = ret.get("marker")
        if not marker:
            assert eof
            return out, pages
        assert pages < 100


@pytest.mark.parametrize(("prefix", "delimiter"), [("", ""), ("", "/"), ("a", "/"), ("logs/", "/"),
                                                   ("d/", ""), ("c/", "/"), ("zzz", "/")])
@pytest.mark.parametrize("limit", [1, 2, 3, 1000])
def test_list_pages_like_the_reference(emulator: RunningEmulator, prefix: str, delimiter: str, limit: int) -> None:
    _fill(emulator)
    got, pages = _walk(emulator, prefix, delimiter, limit)
    want = reference(KEYS, prefix, delimiter)
    assert got == want
    if limit == 1:
        assert pages == max(1, len(want))


def test_list_items_carry_stat_fields(emulator: RunningEmulator) -> None:
    auth, bm = sdk_for(emulator)
    qiniu.put_data(auth.upload_token("test-bucket", "x.txt"), "x.txt", b"hello")
    ret, eof, info = bm.list("test-bucket")
    assert eof
    (item,) = ret["items"]
    assert item["key"] == "x.txt" and item["hash"] == "Fqr0xh3cxeii2r7eDztILNmuqUNN"
    assert item["fsize"] == 5 and item["putTime"] > 0 and item["type"] == 0


def test_list_bad_marker_is_640(emulator: RunningEmulator) -> None:
    _, bm = sdk_for(emulator)
    ret, eof, info = bm.list("test-bucket", marker="not-a-marker")
    assert info.status_code == 640


def test_list_unknown_bucket_is_631(emulator: RunningEmulator) -> None:
    _, bm = sdk_for(emulator)
    assert bm.list("nope")[2].status_code == 631


def test_store_list_marker_after_group_skips_whole_group(emulator: RunningEmulator) -> None:
    _fill(emulator)
    items, prefixes, marker = emulator.store.list("test-bucket", prefix="", delimiter="/", limit=2)
    assert [o.key for o in items] == ["a"] and prefixes == ["a/"]
    items2, prefixes2, _ = emulator.store.list("test-bucket", marker=marker, delimiter="/", limit=1)
    assert [o.key for o in items2] == ["a0"] and prefixes2 == []
    assert all(isinstance(o, ObjectInfo) for o in items2)
