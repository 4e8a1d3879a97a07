"""Baseline 1: upload a tree with the SDK, a fresh token and a ``put_file`` per file.

Usage: ``python -m bench.baselines.sdk_sync URL BUCKET ROOT``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qiniu import put_file

from bench.baselines._sdk import auth, fail, region, walk


def main(url: str, bucket: str, root: str) -> None:
    q = auth()
    regions = [region(url)]
    count = 0
    for key, path in walk(Path(root)):
        token = q.upload_token(bucket, key, 3600)
        ret, info = put_file(token, key, path, version="v2", regions=regions)
        if ret is None or ret.get("key") != key:
            fail(f"upload of {key} failed: {info}")
        count += 1
    print(json.dumps({"uploaded": count}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
