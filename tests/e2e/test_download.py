"""``kind: sync`` with ``direction: download``: a bucket prefix mirrored into a local folder.

Objects are put with our own client; the result is checked against the bytes that were put
and the SDK's ``qiniu.etag`` (independent of the code under test).
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import qiniu

from kodo_jobs.kodo.client import KodoClient
from tests.e2e.sync_helpers import (
    AK,
    BUCKET,
    SK,
    bucket_objects,
    cli,
    plan_ops,
    serve,
    sync_job,
    write_manifest,
)

PRIVATE = "private-bucket"


def _put(url: str, objects: dict[str, bytes], bucket: str = BUCKET) -> None:
    with KodoClient.for_endpoint(url, AK, SK) as client:
        for key, data in objects.items():
            client.upload.upload_bytes(bucket, key, data)


def _local(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def _objects(n: int, seed: int = 3) -> dict[str, bytes]:
    rng = random.Random(seed)
    return {f"pics/d{i % 5}/o{i:04d}.bin": rng.randbytes(rng.randint(1, 2048)) for i in range(n)}


def test_download_mirrors_prefix_refuses_escaping_keys_and_converges(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        objs = _objects(300)
        evil = {"pics/../../etc/x": b"owned", "pics/a\\b": b"bs", "pics//abs": b"abs"}
        _put(emu.url, {**objs, **evil, "other/outside-prefix.txt": b"not mine"})
        m = write_manifest(tmp_path, emu.url, sync_job("./out", prefix="pics/", direction="download"))
        report = tmp_path / "r.json"

        first = cli("run", m, "--report", report)
        assert first.code == 1, first.out + first.err  # the refused keys are failures
        got = _local(tmp_path / "out")
        assert got == {k.removeprefix("pics/"): v for k, v in objs.items()}
        assert not (tmp_path / "etc").exists() and not Path("/etc/x").exists()
        doc = json.loads(report.read_text())
        failed = {f["key"] for j in doc["jobs"] for f in j.get("failures", [])}
        assert failed == set(evil), failed
        listed = bucket_objects(emu.url, prefix="pics/")
        for key in list(objs)[:50]:
            assert qiniu.etag(str(tmp_path / "out" / key.removeprefix("pics/"))) == listed[key]["hash"]

        ops = plan_ops(m)
        assert set(ops) == {"same", "error"} and len(ops["same"]) == 300, {k: len(v) for k, v in ops.items()}

        # one object replaced, one added, one local file edited: exactly those come back
        _put(emu.url, {"pics/d0/o0000.bin": b"new content", "pics/new.txt": b"hello"})
        edited = tmp_path / "out" / "d1/o0001.bin"
        edited.write_bytes(b"local edit")
        ops = plan_ops(m)
        assert ops["download"] == ["pics/new.txt"]
        assert ops["update"] == ["pics/d0/o0000.bin", "pics/d1/o0001.bin"]
        assert cli("run", m).code == 1
        assert (tmp_path / "out" / "d0/o0000.bin").read_bytes() == b"new content"
        assert edited.read_bytes() == objs["pics/d1/o0001.bin"]


def test_download_deletes_extra_files_only_with_delete_and_max_delete(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        _put(emu.url, {"a.txt": b"a", "b.txt": b"b"})
        out = tmp_path / "out"
        out.mkdir()
        for i in range(3):
            (out / f"extra{i}.txt").write_text("x")
        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download"))
        assert cli("run", m).code == 0
        assert len(_local(out)) == 5  # no delete: extras kept

        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download", delete=True, max_delete=2))
        refused = cli("run", m)
        assert refused.code == 1 and "refusing to delete 3" in refused.out + refused.err
        assert len(_local(out)) == 5

        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download", delete=True, max_delete=3))
        assert cli("run", m).code == 0
        assert _local(out) == {"a.txt": b"a", "b.txt": b"b"}


def test_private_bucket_downloads_through_short_signed_urls(tmp_path: Path) -> None:
    with serve(tmp_path / "emu", buckets=(BUCKET, f"{PRIVATE}:private")) as emu:
        objs = _objects(20, seed=9)
        _put(emu.url, objs, bucket=PRIVATE)
        m = write_manifest(tmp_path, emu.url, sync_job("./out", bucket=PRIVATE, direction="download"))
        denied = cli("run", m)
        assert denied.code == 1  # unsigned URLs: 401 (stops the run: no unsigned request can succeed)
        assert _local(tmp_path / "out") == {}
        m = write_manifest(tmp_path, emu.url, sync_job("./out", bucket=PRIVATE, direction="download", private=True,
                                                      download={"url_ttl": "60s"}))
        ok = cli("run", m)
        assert ok.code == 0, ok.out + ok.err
        assert _local(tmp_path / "out") == objs
        assert "token=" not in ok.out + ok.err


def test_anti_leech_domain_downloads_through_sign_and_t(tmp_path: Path) -> None:
    from kodo_jobs.emulator.config import EmulatorConfig
    from kodo_jobs.emulator.server import start_emulator

    config = EmulatorConfig(data_dir=tmp_path / "emu", access_key=AK, secret_key=SK, buckets=(BUCKET,),
                            anti_leech_key="leech-key-123")
    with start_emulator(config) as emu:
        objs = _objects(10, seed=8)
        _put(emu.url, objs)
        base = f"{emu.url}/dl/{BUCKET}"  # as a CDN domain serving the bucket would look
        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download", download={"base_url": base}))
        assert cli("run", m).code == 1  # unsigned: 403 per object
        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download", download={
            "base_url": base, "anti_leech_key": "leech-key-123", "url_ttl": "2m"}))
        ok = cli("run", m)
        assert ok.code == 0, ok.out + ok.err
        assert _local(tmp_path / "out") == objs
        assert "leech-key-123" not in ok.out + ok.err


def test_big_download_killed_midway_resumes_with_range(tmp_path: Path) -> None:
    """2,000 objects incl. a 64 MiB one under a bandwidth limit: kill -9 the run mid-file; the
    rerun continues the big one with a Range and fetches only what is missing."""
    import subprocess
    import sys

    size = 64 * 1024 * 1024
    rng = random.Random(5)
    big = rng.randbytes(size)
    with serve(tmp_path / "emu") as emu:
        small = {f"s/{i:04d}": bytes([i % 251]) * (1 + i % 97) for i in range(1999)}
        _put(emu.url, {"big.bin": big, **small})
        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download", bandwidth="16MiB",
                                                      concurrency=2))
        part = tmp_path / "out" / "big.bin.kjpart"
        proc = subprocess.Popen([sys.executable, "-m", "kodo_jobs", "run", str(m)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (not part.exists() or part.stat().st_size < 8 * 1024 * 1024):
                time.sleep(0.02)
            assert part.exists() and proc.poll() is None, "the download ended before it could be killed"
            proc.kill()
        finally:
            proc.wait()
        kept = part.stat().st_size
        assert 0 < kept < size
        sent_before = emu.stats()["bytes_sent"]
        report = tmp_path / "r.json"
        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download", concurrency=2))
        res = cli("run", m, "--report", report)
        assert res.code == 0, res.out + res.err
        assert (tmp_path / "out" / "big.bin").read_bytes() == big
        assert _local(tmp_path / "out") == {"big.bin": big, **small}
        assert not part.exists()
        resent = emu.stats()["bytes_sent"] - sent_before
        assert resent < size - kept + 4 * 1024 * 1024, (resent, kept)  # only the missing tail (+ small files)
        assert cli("plan", m, "--exit-code").code == 0
