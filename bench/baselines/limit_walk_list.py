"""The "limit" for no-op resync and planning: a bare ``os.scandir`` walk plus a raw listing.

This is the least work any resync must do (see every local file's size and mtime, list every
remote object once), with no comparison and no state.

Usage: ``python -m bench.baselines.limit_walk_list URL BUCKET ROOT [PREFIX]``
"""

from __future__ import annotations

import json
import os
import sys

from bench.rawkodo import RawKodo


def walk(root: str) -> tuple[int, int]:
    files = total = 0
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    files += 1
                    total += entry.stat(follow_symlinks=False).st_size
    return files, total


def main(url: str, bucket: str, root: str, prefix: str = "") -> None:
    files, total = walk(root)
    client = RawKodo(url, os.environ["BENCH_AK"], os.environ["BENCH_SK"])
    listed = sum(1 for _ in client.list_all(bucket, prefix))
    print(json.dumps({"files": files, "bytes": total, "listed": listed}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
