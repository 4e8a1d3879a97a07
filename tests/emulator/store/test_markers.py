"""List markers and key ranges (pure)."""

from __future__ import annotations

from kodo_jobs.emulator.store.markers import next_prefix


def test_next_prefix_is_byte_order_successor() -> None:
    assert next_prefix("a/") == "a0"
    assert next_prefix("ab") == "ac"
    assert next_prefix("a\U0010ffff") == "b"
    assert next_prefix("x\ud7ff") == "x\ue000"  # skips the surrogate range
    assert next_prefix("") is None
