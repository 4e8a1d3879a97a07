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
    rerun continues the big one with a Range and fetches only what is missing (issue 22: the
    emulator's download stats show one 206 whose body is exactly the missing tail)."""
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
        ranged_before = emu.stats()["downloads"]["responses"].get("206", 0)
        report = tmp_path / "r.json"
        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download", concurrency=2))
        res = cli("run", m, "--report", report)
        assert res.code == 0, res.out + res.err
        assert (tmp_path / "out" / "big.bin").read_bytes() == big
        assert _local(tmp_path / "out") == {"big.bin": big, **small}
        assert not part.exists()
        dl = emu.stats()["downloads"]
        # one ranged answer after the kill, carrying exactly the missing tail; no 416
        assert ranged_before == 0 and dl["responses"].get("206") == 1, dl
        assert dl["bytes"]["206"] == size - kept, (dl, kept)
        assert "416" not in dl["responses"], dl
        assert cli("plan", m, "--exit-code").code == 0


# -- verification, crash points and key collisions (issue 15 items 2, 9, 11; issue 22 stats) ----

MIB = 1024 * 1024

_CRASH_AT_RENAME = """
import os, sys, types
import kodo_jobs.jobs.sync.download_run as sd
real_os = os
def replace(src, dst):
    if str(src).endswith(sd.PART_SUFFIX):
        real_os._exit(9)  # as a kill -9 after the last byte and before the rename
    real_os.replace(src, dst)
sd.os = types.SimpleNamespace(**{n: getattr(real_os, n) for n in dir(real_os) if not n.startswith("__")})
sd.os.replace = replace
from kodo_jobs.cli import main
sys.argv = ["kodo-jobs", "run", sys.argv[1]]
main()
"""

_CRASH_AFTER_BYTES = """
import os, sys
import kodo_jobs.jobs.sync.download_run as sd
limit = int(sys.argv[2])
real = sd.download_to
def download_to(http, url, out, *, offset=0, on_bytes=None):
    seen = [0]
    def counted(n):
        seen[0] += n
        if seen[0] >= limit:
            out.flush()
            os._exit(9)  # as a kill -9 in the middle of the body
        if on_bytes is not None:
            on_bytes(n)
    return real(http, url, out, offset=offset, on_bytes=counted)
sd.download_to = download_to
from kodo_jobs.cli import main
sys.argv = ["kodo-jobs", "run", sys.argv[1]]
main()
"""


def _run_crashing(script: str, manifest: Path, *args: str) -> None:
    """Run ``kodo-jobs run MANIFEST`` in a child that dies (exit 9) at the point ``script`` picks."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", script, str(manifest), *args], capture_output=True,
                          cwd=manifest.parent, timeout=120, text=True)
    assert proc.returncode == 9, f"the run did not die where planned ({proc.returncode}): {proc.stdout}{proc.stderr}"


def _downloads(emu_url: str) -> dict[str, dict[str, int]]:
    import requests

    doc = requests.get(f"{emu_url}/_emulator/stats", timeout=30).json()
    for key in ("requests", "bytes_received", "faults_injected", "objects"):
        assert key in doc, key  # the existing keys stay
    dl = doc["downloads"]
    return {"responses": dl["responses"], "bytes": dl["bytes"]}


def _put_v2(url: str, key: str, data: bytes, part_size: int, tmp: Path) -> str:
    src = tmp / "v2-source.bin"
    src.write_bytes(data)
    with KodoClient.for_endpoint(url, AK, SK) as client:
        res = client.upload.upload_file(BUCKET, key, src, version="v2", threshold=0, part_size=part_size)
    src.unlink()
    return str(res.hash)


def test_complete_part_file_left_by_a_kill_before_rename_is_verified_and_renamed(tmp_path: Path) -> None:
    """Item 11: the run dies after the last byte and before the rename; the rerun must not ask
    for a Range at the end of the object (that answered 416): it verifies the part and renames it."""
    data = random.Random(11).randbytes(300_000)
    with serve(tmp_path / "emu") as emu:
        _put(emu.url, {"big.bin": data})
        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download"))
        _run_crashing(_CRASH_AT_RENAME, m)
        part = tmp_path / "out" / "big.bin.kjpart"
        assert part.read_bytes() == data and not (tmp_path / "out" / "big.bin").exists()
        before = _downloads(emu.url)

        report = tmp_path / "r.json"
        res = cli("run", m, "--report", report)
        assert res.code == 0, res.out + res.err
        assert (tmp_path / "out" / "big.bin").read_bytes() == data and not part.exists()
        assert _downloads(emu.url) == before  # verified locally: not one more download request
        assert cli("plan", m, "--exit-code").code == 0


def test_resumed_part_with_a_flipped_byte_is_caught_for_a_v2_hash(tmp_path: Path) -> None:
    """Item 2: an object whose hash is not a qetag (v2, 1 MiB parts: ``n...``) resumed from a part
    file that was damaged while the run was dead: the damage is caught, the object fetched whole."""
    data = random.Random(2).randbytes(3 * MIB + 12345)
    with serve(tmp_path / "emu") as emu:
        h = _put_v2(emu.url, "v2.bin", data, MIB, tmp_path)
        assert h.startswith("n"), h
        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download"))
        _run_crashing(_CRASH_AFTER_BYTES, m, str(MIB))
        part = tmp_path / "out" / "v2.bin.kjpart"
        kept = part.stat().st_size
        assert 0 < kept < len(data)
        with open(part, "r+b") as f:  # one flipped byte in what the rerun would keep
            f.seek(kept // 2)
            byte = f.read(1)
            f.seek(kept // 2)
            f.write(bytes([byte[0] ^ 0x01]))

        report = tmp_path / "r.json"
        res = cli("run", m, "--report", report)
        assert res.code == 0, res.out + res.err
        assert (tmp_path / "out" / "v2.bin").read_bytes() == data
        assert not part.exists()
        dl = _downloads(emu.url)
        assert dl["responses"].get("206") == 1 and dl["bytes"]["206"] == len(data) - kept  # the resume...
        assert dl["responses"].get("200") == 2  # ...was refused by the check, then one whole download
        results = {r["key"]: r for r in json.loads(report.read_text())["jobs"][0]["results"]}
        assert results["v2.bin"]["verified"] == "etag-v2"
        assert cli("plan", m, "--exit-code").code == 0


def test_fresh_download_of_a_v2_hash_object_is_checked(tmp_path: Path) -> None:
    """Item 2: bytes that are not the object's (one byte flipped on the way) are refused even when
    the hash is a v2 ``n...`` hash; the target stays absent and no part file is left."""
    import http.server
    import threading

    data = random.Random(3).randbytes(2 * MIB + 7)
    bad = bytearray(data)
    bad[MIB + 5] ^= 0x40

    class Corrupting(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Length", str(len(bad)))
            self.end_headers()
            self.wfile.write(bytes(bad))

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Corrupting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with serve(tmp_path / "emu") as emu:
            assert _put_v2(emu.url, "v2.bin", data, 2 * MIB - 4096, tmp_path).startswith("n")
            base = f"http://127.0.0.1:{server.server_address[1]}/cdn"
            m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download",
                                                          download={"base_url": base}))
            report = tmp_path / "r.json"
            res = cli("run", m, "--report", report)
            assert res.code == 1, res.out + res.err
            failures = json.loads(report.read_text())["jobs"][0]["failures"]
            assert [f["key"] for f in failures] == ["v2.bin"]
            assert "expected" in failures[0]["message"], failures[0]["message"]
            assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []
    finally:
        server.shutdown()
        server.server_close()


def test_file_directory_and_case_collisions_are_per_key_errors(tmp_path: Path) -> None:
    """Item 9: keys ``dir`` and ``dir/ok.txt`` (a file and a directory of the same name) and
    ``A.txt``/``a.txt`` (one file on a case-insensitive file system): clean per-key errors, no
    traceback, no part file left, nothing overwritten."""
    with serve(tmp_path / "emu") as emu:
        _put(emu.url, {"dir/ok.txt": b"ok"})
        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download"))
        assert cli("run", m).code == 0
        out = tmp_path / "out"
        assert (out / "dir" / "ok.txt").read_bytes() == b"ok"

        _put(emu.url, {"dir": b"a file named like the directory", "A.txt": b"upper", "a.txt": b"lower",
                       "x.txt": b"x"})
        report = tmp_path / "r.json"
        res = cli("run", m, "--report", report)
        assert res.code == 1, res.out + res.err
        assert "Traceback" not in res.out + res.err
        doc = json.loads(report.read_text())
        failures = {f["key"]: f["message"] for f in doc["jobs"][0]["failures"]}
        assert set(failures) == {"dir", "dir/ok.txt", "a.txt"}, failures
        assert "A.txt" in failures["a.txt"] and "case" in failures["a.txt"]
        assert "dir" in failures["dir/ok.txt"]
        assert "directory" in failures["dir"]
        found = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
        assert found == ["A.txt", "dir", "dir/ok.txt", "x.txt"], found
        assert (out / "A.txt").read_bytes() == b"upper" and (out / "dir" / "ok.txt").read_bytes() == b"ok"
