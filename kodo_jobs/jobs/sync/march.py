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
from typing import Protocol, TypeVar


class Keyed(Protocol):
    """Anything with an object key."""

    @property
    def key(self) -> str: ...


L = TypeVar("L", bound=Keyed)
R = TypeVar("R", bound=Keyed)


class MarchOrderError(RuntimeError):
    """A stream was not strictly sorted by key."""


def _always(_item: object) -> bool:
    return True


def _never(_item: object) -> bool:
    return False


def _out_of_order(name: str, key: str, last: str) -> MarchOrderError:
    return MarchOrderError(f"{name} listing is not sorted by key: {key!r} came after {last!r}")


def march(
    local: Iterable[L],
    remote: Iterable[R],
    *,
    is_subtree: Callable[[L], bool] = _never,
    is_ordered: Callable[[L], bool] = _always,
) -> Iterator[tuple[L | None, R | None]]:
    """Yield one pair per key present on either side, in key order (see the module docstring).

    One loop with the two look-ahead items in local variables: this runs once per file of a
    million-file plan, so the order checks are inlined rather than in a cursor class.
    """
    l_it, r_it = iter(local), iter(remote)
    l_last = r_last = ""
    l_started = r_started = False

    def next_local() -> L | None:
        nonlocal l_last, l_started
        item = next(l_it, None)
        if item is not None and is_ordered(item):
            key = item.key
            if l_started and key <= l_last:
                raise _out_of_order("local", key, l_last)
            l_last, l_started = key, True
        return item

    def next_remote() -> R | None:
        nonlocal r_last, r_started
        item = next(r_it, None)
        if item is not None:
            key = item.key
            if r_started and key <= r_last:
                raise _out_of_order("remote", key, r_last)
            r_last, r_started = key, True
        return item

    l_item = next_local()
    r_item = next_remote()
    while r_item is not None:
        if l_item is None:
            yield None, r_item
            r_item = next_remote()
        elif not is_ordered(l_item):
            yield l_item, None
            l_item = next_local()
        elif is_subtree(l_item) and l_item.key <= r_item.key:
            sub = l_item.key
            if r_item.key == sub:
                yield l_item, r_item
                r_item = next_remote()
            else:
                yield l_item, None
            while r_item is not None and r_item.key.startswith(sub):
                yield l_item, r_item
                r_item = next_remote()
            l_item = next_local()
        elif l_item.key < r_item.key:
            yield l_item, None
            l_item = next_local()
        elif l_item.key > r_item.key:
            yield None, r_item
            r_item = next_remote()
        else:
            yield l_item, r_item
            l_item = next_local()
            r_item = next_remote()
    # the remote side is done: the rest of the local side pairs with nothing (the common case
    # of a first sync), checked for order without the comparisons above
    while l_item is not None:
        yield l_item, None
        l_item = next(l_it, None)
        if l_item is not None and is_ordered(l_item):
            key = l_item.key
            if l_started and key <= l_last:
                raise _out_of_order("local", key, l_last)
            l_last, l_started = key, True
