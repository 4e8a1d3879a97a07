"""Issue 6 end to end, through the CLI against an emulator subprocess.

Faults, kill -9 (mid large upload and at random moments of a many-file sync), the run lock,
bad credentials, SIGTERM, corrupt state files. Every scenario ends by comparing every object's
hash in the emulator with the local file's etag.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kodo_jobs.executor.checkpoint import Checkpoint
from kodo_jobs.kodo.etag import etag_file

from .conftest import (
    BUCKET,
    EmulatorProc,
    kodo_jobs,
    make_big_file,
    make_tree,
    spawn_kodo_jobs,
    write_manifest,
)

MIB = 1 << 20
FAST_RETRY = """
retry: {attempts: 12, initial_wait: 0.02s, max_wait: 0.3s, throttle_wait: 0.05s}
"""


def _sync_job(source: Path, *, name: str = "site", concurrency: int = 4, part_concurrency: int = 2,
              extra: str = "") -> str:
    return f"""
    - name: {name}
      kind: sync
      source: {source}
      bucket: {BUCKET}
      concurrency: {concurrency}
      upload: {{resumable: v2, threshold: 4MiB, part_size: 4MiB, part_concurrency: {part_concurrency}}}
      {extra}
    """


def _assert_mirrored(emu: EmulatorProc, source: Path) -> None:
    emu.set_faults(0.0)
    remote = emu.objects()
    local = {p.relative_to(source).as_posix(): p for p in source.rglob("*") if p.is_file()}
    assert sorted(remote) == sorted(local)
    wrong = [k for k, p in local.items() if remote[k] != etag_file(p)]
    assert not wrong, f"{len(wrong)} objects with a wrong hash, e.g. {wrong[:3]}"


def _wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# -- faults ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sync_under_faults_ends_correct(tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc(fault_rate=0.2, fault_seed=7)
    src = tmp_path / "src"
    make_tree(src, 1000, size=200)
    make_big_file(src / "big" / "video.bin", 64 * MIB)
    manifest = write_manifest(tmp_path / "m", _sync_job(src, concurrency=8), emu.url, defaults_yaml=FAST_RETRY)
    r = kodo_jobs("run", manifest, "--report", tmp_path / "report.json", "--log-format", "json")
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    stats = emu.stats()
    assert stats["faults_injected"] > 50  # the faults really happened
    retries = [json.loads(line) for line in r.stderr.splitlines() if '"retrying"' in line]
    assert retries and all({"key", "attempt", "wait", "reqid"} <= set(e) for e in retries)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "ok" and report["jobs"][0]["counts"]["upload"]["done"] == 1001
    _assert_mirrored(emu, src)


@pytest.mark.slow
def test_batch_and_fetch_under_faults_end_correct(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    origin = emulator_proc()  # the fetch source: a fault-free web server (faults are Kodo's here)
    src = tmp_path / "src"
    files = make_tree(src, 140, size=300)
    assert kodo_jobs("run", write_manifest(tmp_path / "seed", _sync_job(src), emu.url)).returncode == 0
    assert kodo_jobs("run", write_manifest(tmp_path / "seed2", _sync_job(src), origin.url)).returncode == 0
    emu.set_faults(0.2, seed=11)
    fetched = sorted(files)[:40]
    urls = tmp_path / "m" / "urls.txt"
    urls.parent.mkdir(parents=True)
    urls.write_text("".join(f"{origin.url}/dl/{BUCKET}/{k}\tfetched/{k}\n" for k in fetched))
    jobs = f"""
    - name: copies
      kind: batch
      bucket: {BUCKET}
      select: {{prefix: d1/}}
      op: {{copy: {{dest_prefix: copies/, force: true}}}}
      batch_size: 7
    - name: import
      kind: fetch
      bucket: {BUCKET}
      urls_file: {urls}
      concurrency: 4
    """
    manifest = write_manifest(tmp_path / "m", jobs, emu.url, defaults_yaml=FAST_RETRY)
    r = kodo_jobs("run", manifest, "--report", tmp_path / "report.json")
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert emu.stats()["faults_injected"] > 5
    emu.set_faults(0.0)
    remote = emu.objects()
    d1 = [k for k in files if k.startswith("d1/")]
    assert d1 and all(remote[f"copies/{k}"] == etag_file(files[k]) for k in d1)
    assert all(remote[f"fetched/{k}"] == etag_file(files[k]) for k in fetched)


# -- kill -9 ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_kill9_mid_large_upload_resumes_missing_parts_only(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    size = 128 * MIB
    part, part_concurrency = 4 * MIB, 2
    make_big_file(src / "large.bin", size)
    manifest = write_manifest(tmp_path / "m", _sync_job(src, concurrency=1, part_concurrency=part_concurrency),
                              emu.url)
    proc = spawn_kodo_jobs("run", manifest)
    try:
        _wait_for(lambda: emu.stats()["bytes_received"] >= size // 2 or proc.poll() is not None, 120,
                  "half the bytes")
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    first = emu.stats()["bytes_received"]
    assert first < size
    status = kodo_jobs("status", manifest)
    assert status.returncode == 0 and "1 partial upload" in status.stdout, status.stdout
    # the op line counts the bytes already in the unfinished upload (it said "0 B sent")
    upload_line = next(line for line in status.stdout.splitlines() if line.strip().startswith("upload"))
    assert "of it in unfinished uploads" in upload_line and " 0 B sent" not in upload_line, status.stdout
    partial = json.loads(kodo_jobs("status", manifest, "--json").stdout)["partial_uploads"]
    assert partial[0]["key"] == "large.bin" and partial[0]["bytes_done"] >= 8 * MIB
    r = kodo_jobs("run", manifest)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    total = emu.stats()["bytes_received"]
    print(f"kill -9 at {first} bytes; both runs {total} bytes for a {size}-byte file")  # shown with -s
    assert total <= size + (part_concurrency + 1) * part + 256 * 1024  # small request bodies besides parts
    _assert_mirrored(emu, src)
    with Checkpoint(manifest.with_suffix(".kjstate"), create=False) as cp:
        assert cp.uploads() == [] and cp.integrity_ok()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill9_at_random_moments_of_many_file_sync(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc], seed: int) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    make_tree(src, 2000, size=100, seed=seed)
    manifest = write_manifest(tmp_path / "m", _sync_job(src, concurrency=8), emu.url)
    state = manifest.with_suffix(".kjstate")
    rng = random.Random(seed)
    kills = 0
    for _ in range(3):
        # the moment is drawn in uploads, not seconds: a kill lands mid-run however fast the
        # machine is (a sleep of 0.3-2 s outlasted a whole run once the client got faster)
        stored = emu.stats()["objects"]
        target = stored + rng.randint(50, 600)
        proc = spawn_kodo_jobs("run", manifest)
        deadline = time.monotonic() + 60
        while proc.poll() is None and emu.stats()["objects"] < target and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        if state.exists():
            with Checkpoint(state, create=False) as cp:
                assert cp.integrity_ok()
    assert kills >= 1
    r = kodo_jobs("run", manifest)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    _assert_mirrored(emu, src)
    again = kodo_jobs("run", manifest)
    assert again.returncode == 0 and "nothing to do" in again.stdout


# -- lock, credentials, signals, state file --------------------------------------------------------


def test_two_runs_at_once_one_exits_3(tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    make_big_file(src / "large.bin", 48 * MIB)
    manifest = write_manifest(tmp_path / "m", _sync_job(src, concurrency=1, part_concurrency=1), emu.url)
    lock = manifest.with_suffix(".kjstate.lock")
    first = spawn_kodo_jobs("run", manifest)
    try:
        _wait_for(lambda: lock.exists() and lock.read_text().startswith("{"), 30, "the first run's lock")
        os.kill(first.pid, signal.SIGSTOP)  # hold the first run mid-way, so the race is decided
        try:
            second = kodo_jobs("run", manifest)
        finally:
            os.kill(first.pid, signal.SIGCONT)
        assert second.returncode == 3, second.stderr
        assert f"pid {first.pid}" in second.stderr and "started" in second.stderr
        out, err = first.communicate(timeout=180)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, err[-3000:]
    _assert_mirrored(emu, src)


def test_bad_credentials_stop_early(tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    make_tree(src, 300, size=10)
    manifest = write_manifest(tmp_path / "m", _sync_job(src, concurrency=8), emu.url, secret_key="wrong-secret-key")
    before = emu.stats()["requests_total"]
    r = kodo_jobs("run", manifest)
    assert r.returncode == 1
    assert "401" in r.stderr and "bad token" in r.stderr  # one clear line, not 300 failures
    assert r.stderr.count("401") <= 2
    assert emu.stats()["requests_total"] - before <= 5
    assert emu.objects() == {}


def test_sigterm_stops_cleanly_with_130_then_resumes(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    make_big_file(src / "large.bin", 64 * MIB)
    make_tree(src / "small", 50, size=10)
    manifest = write_manifest(tmp_path / "m", _sync_job(src, concurrency=1, part_concurrency=1), emu.url)
    proc = spawn_kodo_jobs("run", manifest)
    try:
        _wait_for(lambda: emu.stats()["bytes_received"] >= 12 * MIB or proc.poll() is not None, 60, "some bytes")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out + err[-2000:]
    assert "interrupted" in err
    with Checkpoint(manifest.with_suffix(".kjstate"), create=False) as cp:
        run = cp.last_run()
        assert run is not None and run.status == "interrupted"
    r = kodo_jobs("run", manifest)
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]
    _assert_mirrored(emu, src)


@pytest.mark.parametrize("content", [b"not a database at all\n", b"SQLite format 3\x00" + b"\x00" * 2000])
def test_corrupt_state_file_exit_2_and_kept(tmp_path: Path, emulator_proc: Callable[..., EmulatorProc],
                                            content: bytes) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    make_tree(src, 3)
    manifest = write_manifest(tmp_path / "m", _sync_job(src), emu.url)
    state = manifest.with_suffix(".kjstate")
    state.write_bytes(content)
    r = kodo_jobs("run", manifest)
    assert r.returncode == 2, r.stderr
    assert str(state) in r.stderr
    assert state.read_bytes() == content
    assert kodo_jobs("status", manifest).returncode == 2


def test_foreign_sqlite_state_file_exit_2(tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    make_tree(src, 3)
    manifest = write_manifest(tmp_path / "m", _sync_job(src), emu.url)
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE invoices (n INTEGER)")
    db.commit()
    db.close()
    r = kodo_jobs("run", manifest, "--state", other)
    assert r.returncode == 2 and "not a kodo-jobs state file" in r.stderr
    assert sqlite3.connect(other).execute("SELECT count(*) FROM invoices").fetchone() == (0,)


def test_status_and_plan_exit_code(tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    make_tree(src, 25)
    manifest = write_manifest(tmp_path / "m", _sync_job(src), emu.url)
    assert "no run recorded yet" in kodo_jobs("status", manifest).stdout
    p = kodo_jobs("plan", manifest, "--exit-code")
    assert p.returncode == 4 and "5 more upload" in p.stdout
    doc = json.loads(kodo_jobs("plan", manifest, "--json").stdout)
    assert doc["summary"]["upload"]["count"] == 25 and len(doc["actions"]) == 25
    assert kodo_jobs("run", manifest, "--dry-run").returncode == 0
    assert emu.objects() == {}
    assert kodo_jobs("run", manifest).returncode == 0
    assert kodo_jobs("plan", manifest, "--exit-code").returncode == 0
    st = json.loads(kodo_jobs("status", manifest, "--json").stdout)
    assert st["last_run"]["status"] == "ok" and st["counts"]["site"]["upload"]["done"] == 25
    assert st["pending"] == 0


def test_failed_job_skips_its_deletes_and_dependents(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    make_tree(src, 5, size=10)
    (src / "too-big.bin").write_bytes(b"x" * 5000)
    seed = tmp_path / "seed"
    make_tree(seed / "extra", 2, size=10)
    assert kodo_jobs("run", write_manifest(tmp_path / "s", _sync_job(seed), emu.url)).returncode == 0
    jobs = f"""
    - name: site
      kind: sync
      source: {src}
      bucket: {BUCKET}
      delete: true
      upload: {{policy: {{fsizeLimit: 1000}}}}
    - name: after
      kind: sync
      source: {src}
      bucket: {BUCKET}
      prefix: copy/
      needs: [site]
    """
    manifest = write_manifest(tmp_path / "m", jobs, emu.url)
    r = kodo_jobs("run", manifest, "--report", tmp_path / "r.json")
    assert r.returncode == 1, r.stdout + r.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    site, after = report["jobs"]
    assert site["status"] == "failed" and site["failures_total"] == 1
    assert site["failures"][0]["key"] == "too-big.bin" and site["failures"][0]["code"]
    assert site["counts"]["upload"]["done"] == 5
    assert site["counts"]["delete"]["skipped"] == 2  # deletes only after a clean upload phase
    assert after["status"] == "skipped" and "needs site" in after["note"]
    remote = emu.objects()
    assert "extra/d0/f00000.bin" in remote and not any(k.startswith("copy/") for k in remote)


def test_max_bytes_stops_cleanly_and_resumes(tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    """The byte budget is checked between actions (an upload in flight finishes)."""
    emu = emulator_proc()
    src = tmp_path / "src"
    make_tree(src, 30, size=512 * 1024)
    manifest = write_manifest(tmp_path / "m", _sync_job(src, concurrency=1), emu.url)
    r = kodo_jobs("run", manifest, "--max-bytes", "4MiB")
    assert r.returncode == 130, r.stdout + r.stderr
    first = emu.stats()["bytes_received"]
    assert 4 * MIB <= first <= 6 * MIB
    st = json.loads(kodo_jobs("status", manifest, "--json").stdout)
    assert 0 < st["pending"] < 30
    r2 = kodo_jobs("run", manifest)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert emu.stats()["bytes_received"] <= 30 * 512 * 1024 + 256 * 1024  # nothing sent twice
    _assert_mirrored(emu, src)


def test_second_signal_stops_at_once_and_rerun_is_correct(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    size = 96 * MIB
    make_big_file(src / "large.bin", size)
    # the first signal pauses the upload after the part in flight, so the second one is sent
    # as soon as the first was acknowledged, while the run is still finishing
    manifest = write_manifest(tmp_path / "m", _sync_job(src, concurrency=1, part_concurrency=1), emu.url)
    proc = spawn_kodo_jobs("run", manifest)
    seen: list[str] = []
    try:
        _wait_for(lambda: emu.stats()["bytes_received"] >= 8 * MIB or proc.poll() is not None, 60, "some bytes")
        proc.send_signal(signal.SIGINT)
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if "stopping after the work in flight" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = "".join(seen) + err
    assert proc.returncode == 130, out + err[-2000:]
    assert "again: stopping now" in err
    assert emu.stats()["bytes_received"] < size
    r = kodo_jobs("run", manifest)
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]
    assert emu.stats()["bytes_received"] <= size + 2 * 4 * MIB + 256 * 1024
    _assert_mirrored(emu, src)


def test_saved_plan_runs_exactly_and_refuses_a_changed_manifest(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    make_tree(src, 12, size=20)
    manifest = write_manifest(tmp_path / "m", _sync_job(src), emu.url)
    plan_file = tmp_path / "reviewed.json"
    assert kodo_jobs("plan", manifest, "-o", plan_file).returncode == 0
    (src / "added-after-review.txt").write_text("not reviewed")
    r = kodo_jobs("run", manifest, "--plan", plan_file)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(emu.objects()) == sorted(p.relative_to(src).as_posix() for p in src.rglob("*.bin"))
    manifest.write_text(manifest.read_text() + "\n# edited\n")
    r2 = kodo_jobs("run", manifest, "--plan", plan_file)
    assert r2.returncode == 2 and "another version" in r2.stderr
    bogus = tmp_path / "bogus.json"
    bogus.write_text("{}\n")
    assert kodo_jobs("run", manifest, "--plan", bogus).returncode == 2


def test_shards_split_the_work(tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    src = tmp_path / "src"
    make_tree(src, 40, size=20)
    manifest = write_manifest(tmp_path / "m", _sync_job(src), emu.url)
    done = []
    for i in (0, 1):
        r = kodo_jobs("run", manifest, "--shard", f"{i}/2", "--state", tmp_path / f"shard{i}.kjstate",
                      "--report", tmp_path / f"r{i}.json")
        assert r.returncode == 0, r.stdout + r.stderr
        done.append(json.loads((tmp_path / f"r{i}.json").read_text())["jobs"][0]["counts"]["upload"]["done"])
    assert sum(done) == 40 and all(0 < d < 40 for d in done)
    _assert_mirrored(emu, src)
    assert kodo_jobs("run", manifest, "--shard", "2/2").returncode == 2
