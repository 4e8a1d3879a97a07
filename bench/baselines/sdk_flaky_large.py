"""Baseline 7: one large file with the SDK's resumable upload (``put_file_v2``, 4 MiB parts) and
the SDK's own retry settings, against an emulator that fails some requests on purpose.

Usage: ``python -m bench.baselines.sdk_flaky_large URL BUCKET PATH KEY``
"""

from __future__ import annotations

import json
import sys

from qiniu import put_file_v2

from bench.baselines._sdk import auth, fail, region


def main(url: str, bucket: str, path: str, key: str) -> None:
    token = auth().upload_token(bucket, key, 3600)
    ret, info = put_file_v2(token, key, path, part_size=4 * 1024 * 1024, regions=[region(url)])
    if ret is None or ret.get("key") != key:
        fail(f"upload failed: {info}")
    print(json.dumps({"key": key, "hash": ret.get("hash")}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
