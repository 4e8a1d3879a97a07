"""Crash leftovers (issue 21): bytes written to the data folder by a process killed (SIGKILL)
before it recorded them in the database are swept when the emulator starts again; everything
recorded stays. The kill happens at a deterministic point: a child process replaces the step
that records the bytes with ``SIGKILL`` to itself."""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import qiniu
import requests

from tests.emulator.helpers import up_token
from tests.fixtures.emulator import sdk_for

B = "test-bucket"
BIG = 200 * 1024  # above store/blobs.py INLINE_MAX: stored as a blob file

CHILD = textwrap.dedent("""
    import io, os, signal, sys, time
    from pathlib import Path
    from kodo_jobs.emulator.db import Database
    from kodo_jobs.emulator.store import SqliteStore
    from kodo_jobs.emulator.uploads import Uploads

    data, step = Path(sys.argv[1]), sys.argv[2]
    db = Database(data)
    store = SqliteStore(db, clock=time.time)
    uploads = Uploads(db, clock=time.time)

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if step == "object":      # blob renamed into objects/, row never inserted
        store.objects.insert = die
        tmp = db.tmp_dir / "body"
        tmp.write_bytes(b"o" * {big})
        store.put_object("test-bucket", "lost", tmp, mime="text/plain", fsize={big}, hash="h")
    elif step == "block":     # v1 block file written, row never inserted
        db.tx = die
        uploads.v1.mkblk(4, io.BytesIO(b"abcd"), 4)
    elif step == "part":      # v2 part file in place, row never recorded
        upload_id = sys.argv[3]
        uploads.v2._record_part = die
        uploads.v2.put_part(upload_id, "test-bucket", sys.argv[4], 2, io.BytesIO(b"p" * {big}), None, None)
    elif step == "session":   # v2 session folder made, row never inserted
        db.tx = die
        uploads.v2.initiate("test-bucket", "b2s=")
    raise SystemExit("the kill did not happen")
""").format(big=BIG)


def _crash(data_dir: Path, *args: str) -> None:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(data_dir), *args], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_leftovers_of_a_killed_process_are_swept_at_start(emulator_factory: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = emulator_factory(data_dir=data)
    auth, _ = sdk_for(first)
    big = b"k" * BIG
    assert qiniu.put_data(auth.upload_token(B, "kept"), "kept", big)[1].status_code == 200
    token = up_token(first, B, "later")
    obj = base64.urlsafe_b64encode(b"later").decode()
    headers = {"Authorization": f"UpToken {token}"}
    base = f"{first.url}/buckets/{B}/objects/{obj}/uploads"
    upload_id = requests.post(base, headers=headers, timeout=30).json()["uploadId"]
    part1 = requests.put(f"{base}/{upload_id}/1", data=b"x" * (1024 * 1024), headers=headers, timeout=30)
    assert part1.status_code == 200
    block = requests.post(f"{first.url}/mkblk/4", data=b"wxyz", headers=headers, timeout=30)
    assert block.status_code == 200
    first.stop()
    recorded = _files(data / "objects") | {f"v1/{n}" for n in _files(data / "uploads" / "v1")} | \
        {f"v2/{n}" for n in _files(data / "uploads" / "v2")}

    _crash(data, "object")
    _crash(data, "block")
    _crash(data, "part", upload_id, obj)
    _crash(data, "session")
    after_crash = _files(data / "objects") | {f"v1/{n}" for n in _files(data / "uploads" / "v1")} | \
        {f"v2/{n}" for n in _files(data / "uploads" / "v2")}
    assert len(after_crash - recorded) == 3  # an object blob, a v1 block and a v2 part
    sessions_before = {p.name for p in (data / "uploads" / "v2").iterdir()}
    assert len(sessions_before) == 2  # the recorded session and the one never recorded

    second = emulator_factory(data_dir=data)
    swept = _files(data / "objects") | {f"v1/{n}" for n in _files(data / "uploads" / "v1")} | \
        {f"v2/{n}" for n in _files(data / "uploads" / "v2")}
    assert swept == recorded
    assert {p.name for p in (data / "uploads" / "v2").iterdir()} == {upload_id}
    # what was recorded still works: the object reads back, the v2 upload completes
    assert requests.get(f"{second.url}/dl/{B}/kept", timeout=30).content == big
    done = requests.post(f"{base.replace(first.url, second.url)}/{upload_id}", headers=headers, timeout=30,
                         json={"parts": [{"partNumber": 1, "etag": part1.json()["etag"]}]})
    assert done.status_code == 200, done.text
