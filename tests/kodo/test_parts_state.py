"""Pure part planning, resume arithmetic and the UploadState JSON round trip."""

from __future__ import annotations

import pytest

from kodo_jobs.kodo.upload.parts import (
    MAX_PART,
    MIB,
    Part,
    adjust_part_size,
    bytes_done,
    missing_parts,
    plan_parts,
)
from kodo_jobs.kodo.upload.state import FinishedPart, UploadState


@pytest.mark.parametrize(("size", "part", "expected"), [
    (0, 4, [(1, 0, 0)]),
    (1, 4, [(1, 0, 1)]),
    (8, 4, [(1, 0, 4), (2, 4, 4)]),
    (9, 4, [(1, 0, 4), (2, 4, 4), (3, 8, 1)]),
])
def test_plan_parts(size: int, part: int, expected: list[tuple[int, int, int]]) -> None:
    assert plan_parts(size, part) == tuple(Part(*e) for e in expected)


def test_plan_covers_file_exactly() -> None:
    parts = plan_parts(10 * MIB + 5, 3 * MIB)
    assert sum(p.size for p in parts) == 10 * MIB + 5
    assert all(a.offset + a.size == b.offset for a, b in zip(parts, parts[1:], strict=False))


@pytest.mark.parametrize(("size", "asked", "expected"), [
    (10 * MIB, 4 * MIB, 4 * MIB),
    (10 * MIB, 1, MIB),                     # raised to the 1 MiB minimum
    (10 * MIB, 4096 * MIB, MAX_PART),       # capped at 1 GiB
    (50_000 * MIB, 1 * MIB, 8 * MIB),       # doubled until <= 10 000 parts
])
def test_adjust_part_size(size: int, asked: int, expected: int) -> None:
    assert adjust_part_size(size, asked) == expected


def test_missing_and_done() -> None:
    plan = plan_parts(9, 4)
    assert missing_parts(plan, [1, 3]) == (Part(2, 4, 4),)
    assert bytes_done(plan, [1, 3]) == 5


def _state() -> UploadState:
    return UploadState("v2", "b", "k", 4, 9, 123, 2_000_000_000, upload_id="u1")


def test_state_round_trip_and_ordering() -> None:
    s = _state().with_part(FinishedPart(3, "e3", 1)).with_part(FinishedPart(1, "e1", 4))
    assert [p.number for p in s.parts] == [1, 3] and s.bytes_done == 5
    assert UploadState.from_json(s.to_json()) == s
    assert s.finished_numbers == {1, 3}
    v1 = UploadState("v1", "b", "k", 4, 9, 1, 2_000_000_000).with_part(FinishedPart(1, "ctx", 4), 1_900_000_000)
    assert v1.expires_at == 1_900_000_000 and UploadState.from_json(v1.to_json()) == v1


def test_state_matching_and_expiry() -> None:
    s = _state()
    assert s.matches("b", "k", 9, 123) and not s.matches("b", "k", 9, 124)
    assert not s.expired(now=1_000_000_000) and s.expired(now=2_000_000_000)


@pytest.mark.parametrize("text", ["", "[]", '{"format": 2}', '{"format":1,"version":"v3"}',
                                  '{"format":1,"version":"v2","bucket":"b"}'])
def test_state_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        UploadState.from_json(text)


def test_state_holds_no_token() -> None:
    assert "token" not in _state().to_json().lower()
