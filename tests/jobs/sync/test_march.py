"""Table tests for the merge-join of the local walk and the remote listing (kodo_jobs.jobs.sync.march)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kodo_jobs.jobs.sync.march import MarchOrderError, march


@dataclass(frozen=True)
class K:
    key: str
    subtree: bool = False
    ordered: bool = True


def _pairs(local: list[K], remote: list[K]) -> list[tuple[str | None, str | None]]:
    return [
        (a.key if a else None, b.key if b else None)
        for a, b in march(local, remote, is_subtree=lambda x: x.subtree, is_ordered=lambda x: x.ordered)
    ]


def ks(*keys: str) -> list[K]:
    return [K(k) for k in keys]


@pytest.mark.parametrize(
    ("local", "remote", "expected"),
    [
        ([], [], []),
        (ks("a"), [], [("a", None)]),
        ([], ks("a"), [(None, "a")]),
        (ks("a", "b", "c"), ks("a", "b", "c"), [("a", "a"), ("b", "b"), ("c", "c")]),
        (ks("a", "c"), ks("b", "d"), [("a", None), (None, "b"), ("c", None), (None, "d")]),
        (ks("a", "b"), ks("b", "c"), [("a", None), ("b", "b"), (None, "c")]),
        # characters below "/" sort before the directory's keys
        (ks("a-b", "a/x"), ks("a-b", "a/x"), [("a-b", "a-b"), ("a/x", "a/x")]),
        (ks("a/x", "ab"), ks("a-", "ab"), [(None, "a-"), ("a/x", None), ("ab", "ab")]),
        # non-ASCII: code point order equals UTF-8 byte order
        (ks("z", "é", "日本"), ks("é", "😀"), [("z", None), ("é", "é"), ("日本", None), (None, "😀")]),
    ],
)
def test_march_table(local: list[K], remote: list[K], expected: list[tuple[str | None, str | None]]) -> None:
    assert _pairs(local, remote) == expected


def test_subtree_error_pairs_with_every_remote_key_below_it() -> None:
    local = [K("a"), K("d/", subtree=True), K("e")]
    remote = ks("a", "c", "d/", "d/x", "d/y/z", "e", "f")
    assert _pairs(local, remote) == [
        ("a", "a"), (None, "c"), ("d/", "d/"), ("d/", "d/x"), ("d/", "d/y/z"), ("e", "e"), (None, "f"),
    ]


def test_subtree_without_remote_keys_is_yielded_once() -> None:
    assert _pairs([K("d/", subtree=True)], ks("e")) == [("d/", None), (None, "e")]
    assert _pairs([K("d/", subtree=True)], []) == [("d/", None)]


def test_unordered_items_pass_through() -> None:
    local = [K("b"), K("\ufffd", ordered=False), K("c")]
    assert _pairs(local, ks("a", "c")) == [(None, "a"), ("b", None), ("\ufffd", None), ("c", "c")]


@pytest.mark.parametrize(("local", "remote"), [(ks("b", "a"), []), ([], ks("b", "a")), (ks("a", "a"), [])])
def test_unsorted_or_repeated_keys_raise(local: list[K], remote: list[K]) -> None:
    with pytest.raises(MarchOrderError, match="not sorted"):
        _pairs(local, remote)


def test_march_is_lazy() -> None:
    consumed: list[str] = []

    def gen() -> object:
        for k in ("a", "b", "c"):
            consumed.append(k)
            yield K(k)

    it = march(gen(), iter([]))  # type: ignore[arg-type]
    assert next(it)[0] == K("a")
    assert consumed == ["a"]  # nothing read beyond the current item
