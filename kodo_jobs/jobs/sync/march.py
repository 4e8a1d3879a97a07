"""Merge-join two key-sorted streams into ``(local | None, remote | None)`` pairs (pure).

The sync planner walks the source tree and lists the bucket in the same order (UTF-8 byte
order of keys, which equals code-point order of ``str``), then marches down both at once, in
the spirit of rclone's ``fs/march``: memory stays constant whatever the size of the trees.

Two extras for the walker's records:

* an item for which ``is_subtree(item)`` is true stands for a whole unreadable directory whose
  keys start with ``item.key``; it pairs with *every* remote key below it (so the planner can
  refuse to delete them), after first being yielded on its own (or paired with a remote key
  equal to its own);
* an item for which ``is_ordered(item)`` is false has no usable key and is passed through at
  once as ``(item, None)``.

A stream that goes backwards or repeats a key raises :class:`MarchOrderError`: pairing two
unsorted listings would turn present files into "missing" ones, and a mirror would then
delete objects that should stay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, Protocol, TypeVar


class Keyed(Protocol):
    """Anything with an object key."""

    @property
    def key(self) -> str: ...


L = TypeVar("L", bound=Keyed)
R = TypeVar("R", bound=Keyed)
T = TypeVar("T", bound=Keyed)


class MarchOrderError(RuntimeError):
    """A stream was not strictly sorted by key."""


def _always(_item: object) -> bool:
    return True


def _never(_item: object) -> bool:
    return False


class _Cursor(Generic[T]):
    """One stream with a look-ahead item and an order check."""

    __slots__ = ("_it", "_last", "_name", "_ordered", "item")

    def __init__(self, items: Iterable[T], name: str, ordered: Callable[[T], bool]) -> None:
        self._it = iter(items)
        self._name = name
        self._ordered = ordered
        self._last: str | None = None
        self.item: T | None = None
        self.advance()

    def advance(self) -> None:
        self.item = next(self._it, None)
        if self.item is not None and self._ordered(self.item):
            key = self.item.key
            if self._last is not None and key <= self._last:
                raise MarchOrderError(
                    f"{self._name} listing is not sorted by key: {key!r} came after {self._last!r}"
                )
            self._last = key


def march(
    local: Iterable[L],
    remote: Iterable[R],
    *,
    is_subtree: Callable[[L], bool] = _never,
    is_ordered: Callable[[L], bool] = _always,
) -> Iterator[tuple[L | None, R | None]]:
    """Yield one pair per key present on either side, in key order (see the module docstring)."""
    lc: _Cursor[L] = _Cursor(local, "local", is_ordered)
    rc: _Cursor[R] = _Cursor(remote, "remote", _always)
    while lc.item is not None or rc.item is not None:
        l_item = lc.item
        r_item = rc.item
        if l_item is not None and not is_ordered(l_item):
            yield l_item, None
            lc.advance()
        elif l_item is None:
            yield None, r_item
            rc.advance()
        elif r_item is None:
            yield l_item, None
            lc.advance()
        elif is_subtree(l_item) and l_item.key <= r_item.key:
            if r_item.key == l_item.key:
                yield l_item, r_item
                rc.advance()
            else:
                yield l_item, None
            while rc.item is not None and rc.item.key.startswith(l_item.key):
                yield l_item, rc.item
                rc.advance()
            lc.advance()
        elif l_item.key < r_item.key:
            yield l_item, None
            lc.advance()
        elif l_item.key > r_item.key:
            yield None, r_item
            rc.advance()
        else:
            yield l_item, r_item
            lc.advance()
            rc.advance()
