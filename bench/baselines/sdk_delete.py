"""Baseline 4: delete keys one by one with ``BucketManager.delete``.

Usage: ``python -m bench.baselines.sdk_delete URL BUCKET KEYS_FILE`` (one key per line)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qiniu import BucketManager

from bench.baselines._sdk import auth, fail, region


def main(url: str, bucket: str, keys_file: str) -> None:
    bm = BucketManager(auth(), regions=[region(url)])
    deleted = 0
    for key in Path(keys_file).read_text().splitlines():
        if not key:
            continue
        _ret, info = bm.delete(bucket, key)
        if info.status_code != 200:
            fail(f"delete of {key} failed: {info}")
        deleted += 1
    print(json.dumps({"deleted": deleted}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
