"""One page of an rsf listing: keys in byte order, delimiter groups, markers.

Rules (as Kodo answers): common prefixes count toward ``limit`` (1..1000, anything else is
1000); a marker ending a delimiter group skips the whole group; ``next_marker`` is "" when
nothing follows. Reads rows through a range function (:meth:`.objects.ObjectTable.range`), so
the paging logic is separate from SQL: a delimiter group is skipped with one jump to the least
key after it instead of reading its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kodo_jobs.emulator.store.markers import decode_marker, encode_marker, next_prefix
from kodo_jobs.emulator.store.object_info import ObjectInfo
from kodo_jobs.emulator.store.objects import ObjectRow, row_to_obj

RangeReader = Callable[[str, bool, "str | None", int], Sequence[ObjectRow]]
"""(start, inclusive, upper, n) -> up to n live rows with start <(=) key < upper, in key order."""
Page = tuple[list[ObjectInfo], list[str], str]
"""(items, common prefixes, next marker)."""


def list_page(read_range: RangeReader, prefix: str = "", marker: str = "", limit: int = 1000,
              delimiter: str = "") -> Page:
    """One page of the keys under ``prefix`` after ``marker`` (see the module docstring)."""
    if not 1 <= limit <= 1000:
        limit = 1000
    upper = next_prefix(prefix) if prefix else None
    start, inclusive = prefix, True
    if marker:
        mkey, group = decode_marker(marker)
        if group:
            nxt = next_prefix(mkey)
            if nxt is None:
                return [], [], ""
            start, inclusive = max(nxt, prefix), True
        elif mkey >= prefix:
            start, inclusive = mkey, False
    items: list[ObjectInfo] = []
    prefixes: list[str] = []
    last: tuple[str, bool] | None = None
    exhausted = False
    while len(items) + len(prefixes) < limit:
        rows = read_range(start, inclusive, upper, limit - len(items) - len(prefixes) + 1)
        if not rows:
            exhausted = True
            break
        jumped = False
        for row in rows:
            obj = row_to_obj(row)
            rest = obj.key[len(prefix):]
            idx = rest.find(delimiter) if delimiter else -1
            if idx >= 0:
                common = prefix + rest[: idx + len(delimiter)]
                prefixes.append(common)
                last = (common, True)
                nxt = next_prefix(common)
                if nxt is None:
                    exhausted = True
                    break
                start, inclusive = nxt, True
                jumped = True
                break
            items.append(obj)
            last = (obj.key, False)
            start, inclusive = obj.key, False
            if len(items) + len(prefixes) >= limit:
                break
        if exhausted:
            break
        if not jumped and len(rows) < limit - len(items) - len(prefixes) + 1 and \
                len(items) + len(prefixes) < limit:
            exhausted = True
            break
    if not exhausted and last is not None:
        more = read_range(start, inclusive, upper, 1)
        if not more:
            exhausted = True
    next_marker = "" if exhausted or last is None else encode_marker(*last)
    return items, prefixes, next_marker
