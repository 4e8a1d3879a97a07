"""Baseline 2: resync with the SDK: per file ``etag()`` and ``stat()``, upload if different.

Usage: ``python -m bench.baselines.sdk_resync URL BUCKET ROOT``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qiniu import BucketManager, etag, put_file

from bench.baselines._sdk import auth, fail, region, walk


def main(url: str, bucket: str, root: str) -> None:
    q = auth()
    regions = [region(url)]
    bm = BucketManager(q, regions=regions)
    checked = uploaded = 0
    for key, path in walk(Path(root)):
        local = etag(path)
        ret, _info = bm.stat(bucket, key)
        checked += 1
        if ret is not None and ret.get("hash") == local:
            continue
        token = q.upload_token(bucket, key, 3600)
        ret, info = put_file(token, key, path, version="v2", regions=regions)
        if ret is None:
            fail(f"upload of {key} failed: {info}")
        uploaded += 1
    print(json.dumps({"checked": checked, "uploaded": uploaded}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
