"""The "limit" of planning into an empty bucket: a bare ``os.scandir`` + ``stat`` walk.

Usage: ``python -m bench.baselines.bare_walk ROOT [SUBFOLDER ...]``: walks ROOT, or only the
given subfolders of it (the part an include filter selects), after listing ROOT once.
"""

from __future__ import annotations

import json
import os
import sys

from bench.baselines.limit_walk_list import walk


def main(root: str, *subfolders: str) -> None:
    if subfolders:
        with os.scandir(root) as it:
            sum(1 for _ in it)
        files = sum(walk(os.path.join(root, sub))[0] for sub in subfolders)
    else:
        files = walk(root)[0]
    print(json.dumps({"files": files}))


if __name__ == "__main__":
    main(*sys.argv[1:])
