"""Which check a downloaded file must pass (issue 15 item 2): one flipped byte always fails it,
or the file is marked unverifiable and never resumed."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from kodo_jobs.jobs.sync.download_check import Check, choose, digest
from kodo_jobs.kodo.etag import etag_file, etag_file_parts, etag_file_v2

MIB = 1024 * 1024


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("kind", ["etag", "etag-v2", "md5"])
def test_one_flipped_byte_fails_every_check(kind: str, tmp_path: Path) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(random.Random(1).randbytes(3 * MIB + 17))
    size = f.stat().st_size
    parts = [MIB, MIB, MIB + 17]
    if kind == "etag":
        check = choose(etag_file(f), size, None, "")
    elif kind == "etag-v2":
        check = choose(etag_file_parts(f, parts), size, parts, "")
    else:
        check = choose("n" + "x" * 27, size, None, hashlib.md5(f.read_bytes()).hexdigest())
    assert check.method == kind and check.resumable
    assert digest(f, check) == check.expected
    _flip(f, 2 * MIB + 3)
    assert digest(f, check) != check.expected


def test_v2_hash_with_parts_equals_the_uniform_part_hash(tmp_path: Path) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(random.Random(2).randbytes(5 * MIB + 1))
    assert etag_file_parts(f, [2 * MIB, 2 * MIB, MIB + 1]) == etag_file_v2(f, 2 * MIB)
    assert etag_file_v2(f, 2 * MIB).startswith("n")
    with pytest.raises(ValueError):
        etag_file_parts(f, [MIB])


def test_parts_that_do_not_add_up_fall_back_to_md5_then_to_none() -> None:
    assert choose("nabc", 10, [4, 4], "").method == "none"
    assert choose("nabc", 10, [4, 4], "0" * 32) == Check("md5", "0" * 32)
    unchecked = choose("nabc", 10, None, "not-an-md5")
    assert unchecked.method == "none" and not unchecked.resumable and "nabc" in unchecked.reason
