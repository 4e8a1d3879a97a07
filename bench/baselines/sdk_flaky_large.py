"""Baseline 7: one large file with the SDK's resumable upload (``put_file_v2``, 4 MiB parts) and
the SDK's own retry settings, against an emulator that fails some requests on purpose.

The SDK gives up on some faults (a 573 is not retried), so this script does what a user's
script would: it calls ``put_file_v2`` again with an ``UploadProgressRecorder`` (which resumes
from the parts already uploaded), up to :data:`MAX_RUNS` times, and prints how many calls it
took. ``runs: 1`` is a first-run success.

Usage: ``python -m bench.baselines.sdk_flaky_large URL BUCKET PATH KEY``
"""

from __future__ import annotations

import json
import sys
import tempfile

from qiniu import UploadProgressRecorder, put_file_v2

from bench.baselines._sdk import auth, fail, region

MAX_RUNS = 10


def main(url: str, bucket: str, path: str, key: str) -> None:
    recorder = UploadProgressRecorder(record_folder=tempfile.gettempdir())
    info = None
    for run in range(1, MAX_RUNS + 1):
        token = auth().upload_token(bucket, key, 3600)
        ret, info = put_file_v2(token, key, path, part_size=4 * 1024 * 1024, regions=[region(url)],
                                upload_progress_recorder=recorder, bucket_name=bucket)
        if ret is not None and ret.get("key") == key:
            print(json.dumps({"key": key, "hash": ret.get("hash"), "runs": run}))
            return
        print(f"put_file_v2 call {run} failed: status {getattr(info, 'status_code', '?')}", file=sys.stderr)
    fail(f"upload failed {MAX_RUNS} times; last: {info}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
