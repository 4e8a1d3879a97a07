"""The rs /batch form body is byte-for-byte what ``urlencode`` writes (the SDK's encoding),
whatever the commands hold: the fast path only takes commands it can encode exactly."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import example, given
from hypothesis import strategies as st

from kodo_jobs.kodo.rs import batch_body, ops

_PLAINISH = st.text(alphabet=st.sampled_from("AZaz09_-.~/=\n&%+ :é\x00"), max_size=12)
_NEAR_SAFE = st.text(alphabet=st.sampled_from("Az9_/=\n"), max_size=6)  # one newline is the only trap


@given(st.lists(_PLAINISH, min_size=1, max_size=20))
@example(["a\nb"])
@example(["delete/YTpi", "", "stat/YTpi=="])
def test_body_matches_urlencode(commands: list[str]) -> None:
    assert batch_body(commands) == urlencode([("op", c) for c in commands])


@given(st.lists(_NEAR_SAFE, min_size=1, max_size=5))
def test_body_with_newlines_in_commands(commands: list[str]) -> None:
    assert batch_body(commands) == urlencode([("op", c) for c in commands])


@given(st.lists(st.text(max_size=30), min_size=1, max_size=8))
def test_body_of_real_ops_round_trips(keys: list[str]) -> None:
    commands = [ops.delete("bucket", k).command for k in keys]
    commands += [ops.move("bucket", k, "other", k + "/x", force=True).command for k in keys]
    body = batch_body(commands)
    assert body == urlencode([("op", c) for c in commands])
    assert [v for _, v in parse_qsl(body)] == commands
