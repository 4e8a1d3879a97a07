"""``kodo-jobs watch`` end to end: a real emulator on 127.0.0.1, a real folder, the CLI as a
subprocess; the bucket is checked with the official SDK (keys and hashes)."""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import pytest

from kodo_jobs.emulator.server import RunningEmulator
from tests.e2e.sync_helpers import assert_mirrored, bucket_objects, serve, sync_job, write_manifest
from tests.e2e.watch_helpers import EmulatorSubprocess, Watching, eventually, start_watch

MIB = 1024 * 1024
BIG = 40 * MIB
V2 = {"resumable": "v2", "threshold": "4MiB", "part_size": "4MiB"}


def _write_slowly(path: Path, size: int, chunk: int, pause: float, seed: int = 7) -> None:
    """Write ``size`` bytes in ``chunk``-byte pieces, flushed, with a pause between pieces."""
    rng = random.Random(seed)
    with path.open("wb") as f:
        left = size
        while left:
            n = min(chunk, left)
            f.write(rng.randbytes(n))
            f.flush()
            left -= n
            time.sleep(pause)


def _mirrored(emu: RunningEmulator, src: Path) -> None:
    assert_mirrored(emu.url, src)


@pytest.mark.slow
def test_watch_follows_creates_modifies_deletes_renames_and_a_slow_large_write(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with serve(tmp_path / "emu") as emu:
        manifest = write_manifest(tmp_path, emu.url, sync_job(str(src), delete=True, upload=V2))
        w = start_watch(manifest, debounce="2s")  # the writer below pauses 0.05 s between pieces
        try:
            w.wait_batches(1)  # the initial full run of the empty folder
            files = []
            for i in range(200):
                p = src / f"d{i % 5}" / f"e{i % 3}" / f"f{i:03d}.txt"
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(f"file {i}\n" * (i + 1))
                files.append(p)
            eventually(lambda: _mirrored(emu, src))
            for p in files[:10]:
                p.write_text("modified " + p.read_text())
            for p in files[10:15]:
                p.unlink()
            (src / "d1").rename(src / "renamed")
            big = src / "big" / "slow.bin"
            big.parent.mkdir()
            _write_slowly(big, BIG, MIB, 0.05)
            eventually(lambda: _mirrored(emu, src))
            stats = emu.stats()
            # the 40 MiB file: one resumable upload, started once its writer was done
            assert stats["requests"].get("up.initiate", 0) == 1, stats["requests"]
            assert stats["requests"].get("up.upload_part", 0) == BIG // (4 * MIB), stats["requests"]
        finally:
            code = w.stop()
        assert code == 0, w.log_text()
        batches = w.batches()
        assert all(b["status"] == "ok" for b in batches), batches
        assert any(b["jobs"]["site"]["mode"] == "paths" for b in batches)
        info = {e["event"] for e in w.events if e.get("level") == "info"}
        assert info <= {"watch started", "watch batch", "watch stopped", "clock skew measured"}, info
        assert w.named("watch stopped"), w.log_text()


def test_a_second_run_exits_3_while_watch_holds_the_lock(tmp_path: Path) -> None:
    from tests.e2e.sync_helpers import cli

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    with serve(tmp_path / "emu") as emu:
        manifest = write_manifest(tmp_path, emu.url, sync_job(str(src)))
        w = start_watch(manifest)
        try:
            w.wait_batches(1)
            res = cli("run", manifest)
            assert res.code == 3, res
            assert "holds the lock" in res.err
        finally:
            assert w.stop() == 0, w.log_text()
        assert cli("run", manifest).code == 0  # released on exit


def _fifty(src: Path) -> None:
    for i in range(50):
        (src / f"d{i % 4}").mkdir(parents=True, exist_ok=True)
        (src / f"d{i % 4}" / f"f{i}.txt").write_text(str(i))


def test_mass_delete_with_max_delete_10_percent_deletes_nothing_and_says_why(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _fifty(src)
    with serve(tmp_path / "emu") as emu:
        manifest = write_manifest(tmp_path, emu.url, sync_job(str(src), delete=True, max_delete="10%"))
        w = start_watch(manifest, "--full-every", "2s")
        try:
            w.wait_batches(1)
            assert len(bucket_objects(emu.url)) == 50
            for child in list(src.iterdir()):
                shutil.rmtree(child)

            def refused() -> None:
                assert any("refusing to delete" in b["message"] for b in w.batches()[1:]), w.log_text()

            eventually(refused)
            # the whole folder goes too: reported, watched for again
            src.rmdir()
            eventually(lambda: _reported_missing(w))
            assert len(bucket_objects(emu.url)) == 50  # nothing deleted, whatever came
            # back with its files (a refused plan changes nothing, its uploads included, as in `run`)
            src.mkdir()
            _fifty(src)
            (src / "back.txt").write_text("back")
            eventually(lambda: _mirrored(emu, src))
            assert len(bucket_objects(emu.url)) == 51
        finally:
            assert w.stop() == 0, w.log_text()
        refusal = next(b for b in w.batches() if "refusing to delete" in b["message"])
        assert refusal["status"] == "failed" and "max_delete" in refusal["message"]
        assert refusal["jobs"]["site"]["counts"].get("delete", {}).get("done", 0) == 0


def _reported_missing(w: Watching) -> None:
    assert any(e["event"].startswith("source folder missing") for e in w.events), w.log_text()


@pytest.mark.slow
def test_kill9_during_a_batch_then_restart_converges_without_resending_finished_parts(tmp_path: Path) -> None:
    from kodo_jobs.emulator.config import EmulatorConfig
    from kodo_jobs.emulator.server import start_emulator
    from tests.e2e.sync_helpers import AK, BUCKET, SK

    src = tmp_path / "src"
    src.mkdir()
    size, part = 48 * MIB, 4 * MIB
    config = EmulatorConfig(data_dir=tmp_path / "emu", access_key=AK, secret_key=SK, buckets=(BUCKET,), latency=0.3)
    with start_emulator(config) as emu:
        manifest = write_manifest(tmp_path, emu.url, sync_job(str(src), upload={**V2, "part_concurrency": 1},
                                                              concurrency=1))
        w = start_watch(manifest, debounce="0.5s")
        try:
            w.wait_batches(1)
            (src / "pre.bin").write_bytes(os.urandom(4096))
            tmp = tmp_path / "big.tmp"
            tmp.write_bytes(os.urandom(size))
            os.utime(tmp, (time.time() - 60, time.time() - 60))
            tmp.rename(src / "big.bin")  # appears whole: no quiet wait

            def parts_sent() -> None:
                assert emu.stats()["requests"].get("up.upload_part", 0) >= 3

            eventually(parts_sent)
        finally:
            w.kill()  # SIGKILL mid-batch
        before = emu.stats()["requests"].get("up.upload_part", 0)
        assert before < size // part, "the upload finished before the kill"
        w2 = start_watch(manifest, debounce="0.5s")
        try:
            eventually(lambda: _mirrored(emu, src))
        finally:
            assert w2.stop() == 0, w2.log_text()
        total = emu.stats()["requests"].get("up.upload_part", 0)
        # every finished part was kept: at most the one in flight at the kill is sent again
        assert total <= size // part + 1, (before, total)
        assert emu.stats()["requests"].get("up.initiate", 0) == 1


def _peak_rss(pid: int) -> int:
    """The process's peak resident set size so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.mark.slow
def test_a_burst_of_20000_files_converges_in_bounded_memory(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    n = 20_000
    with EmulatorSubprocess(tmp_path / "emu") as emu:
        manifest = write_manifest(tmp_path, emu.url, sync_job(str(src), concurrency=8))
        w = start_watch(manifest, debounce="1s")
        try:
            w.wait_batches(1)
            for i in range(n):
                p = src / f"b{i % 40:02d}" / f"f{i:05d}.txt"
                if i < 40:
                    p.parent.mkdir()
                p.write_bytes(b"%d" % i)

            def all_there() -> None:
                assert emu.stats()["objects"] == n

            eventually(all_there, timeout=600)
            assert_mirrored(emu.url, src)
            peak = _peak_rss(w.proc.pid)
        finally:
            assert w.stop() == 0, w.log_text()
        print(f"20000-file burst: watch peak RSS {peak / 1e6:.1f} MB over {len(w.batches())} batches")  # -s
        assert peak < 200 * 1000 * 1000, peak
        assert any(b["jobs"]["site"]["mode"] == "full" and b["jobs"]["site"]["reasons"] != ["start"]
                   for b in w.batches()), "the burst did not collapse into a full re-plan"


def test_watcher_stopped_then_restarted_while_files_change_converges(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _fifty(src)
    with serve(tmp_path / "emu") as emu:
        manifest = write_manifest(tmp_path, emu.url, sync_job(str(src), delete=True))
        w = start_watch(manifest)
        w.wait_batches(1)
        assert w.stop() == 0, w.log_text()
        for p in sorted(src.rglob("*.txt"))[:5]:
            p.unlink()
        (src / "d0" / "while-stopped.txt").write_text("new")
        w2 = start_watch(manifest)
        try:
            eventually(lambda: _mirrored(emu, src))
        finally:
            assert w2.stop() == 0, w2.log_text()


def test_then_cdn_refresh_runs_per_batch_for_exactly_the_changed_urls(tmp_path: Path) -> None:
    from tests.e2e.test_then_e2e import BASE, refreshed, url

    src = tmp_path / "src"
    src.mkdir()
    (src / "keep.txt").write_text("keep")
    (src / "old.txt").write_text("old")
    with serve(tmp_path / "emu") as emu:
        job = sync_job(str(src), prefix="site/", delete=True, then={"cdn_refresh": {"base_url": BASE}})
        manifest = write_manifest(tmp_path, emu.url, job)
        w = start_watch(manifest)
        try:
            w.wait_batches(1)
            first = sorted([url("site/keep.txt"), url("site/old.txt")])
            eventually(lambda: _equal(refreshed(emu), first))
            (src / "new page.html").write_text("new")
            (src / "old.txt").unlink()
            eventually(lambda: _equal(refreshed(emu), sorted([*first, url("site/new page.html"),
                                                               url("site/old.txt")])))
            _mirrored_prefix(emu, src, "site/")
        finally:
            assert w.stop() == 0, w.log_text()


def _equal(a: object, b: object) -> None:
    assert a == b


def _mirrored_prefix(emu: RunningEmulator, src: Path, prefix: str) -> None:
    assert_mirrored(emu.url, src, prefix)


@pytest.mark.slow
def test_sigterm_finishes_the_batch_in_flight_then_exits_0(tmp_path: Path) -> None:
    from kodo_jobs.emulator.config import EmulatorConfig
    from kodo_jobs.emulator.server import start_emulator
    from tests.e2e.sync_helpers import AK, BUCKET, SK

    src = tmp_path / "src"
    src.mkdir()
    config = EmulatorConfig(data_dir=tmp_path / "emu", access_key=AK, secret_key=SK, buckets=(BUCKET,), latency=0.1)
    with start_emulator(config) as emu:
        manifest = write_manifest(tmp_path, emu.url, sync_job(str(src), concurrency=1))
        w = start_watch(manifest, debounce="0.3s")
        try:
            w.wait_batches(1)
            stage = tmp_path / "stage"
            stage.mkdir()
            for i in range(30):
                (stage / f"f{i:02d}.txt").write_text(str(i))
                os.utime(stage / f"f{i:02d}.txt", (time.time() - 60, time.time() - 60))
            stage.rename(src / "batch")  # one move: one batch holds all 30 uploads

            def started() -> None:
                assert emu.stats()["requests"].get("up.form_upload", 0) >= 1

            eventually(started)
            code = w.stop()
        finally:
            w.kill()
        assert code == 0, w.log_text()
        assert len(bucket_objects(emu.url)) == 30  # the batch in flight was finished, not cut
        assert w.named("watch stopped"), w.log_text()


def test_usage_errors_exit_2_before_anything_runs(tmp_path: Path) -> None:
    from tests.e2e.sync_helpers import BUCKET, cli

    with serve(tmp_path / "emu") as emu:
        only_download = write_manifest(tmp_path, emu.url, sync_job(str(tmp_path), direction="download"))
        res = cli("watch", only_download)
        assert res.code == 2 and "no enabled upload-direction sync job" in res.err, res
        batch = write_manifest(tmp_path, emu.url, {"name": "b", "kind": "batch", "bucket": BUCKET,
                                                   "keys": ["x"], "op": {"delete": {}}}, name="b.yaml")
        assert cli("watch", batch).code == 2
        (tmp_path / "src").mkdir()
        ok = write_manifest(tmp_path, emu.url, sync_job(str(tmp_path / "src")), name="ok.yaml")
        res = cli("watch", ok, "--debounce", "soon")
        assert res.code == 2 and "--debounce" in res.err, res


def test_metrics_file_is_refreshed_after_every_batch(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    def metrics() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        out = {}
        for family in text_string_to_metric_families(prom.read_text()):
            for s in family.samples:
                out[(s.name, frozenset(s.labels.items()))] = s.value
        return out

    def uploaded(m: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> float:
        return m.get(("kodo_jobs_job_actions_total",
                      frozenset({"kodo_job": "site", "op": "upload", "outcome": "done"}.items())), 0.0)

    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):  # the first batch sends 3 files, the second 1: a refresh shows 1
        (src / f"first{i}.txt").write_text(f"first {i}")
    prom = tmp_path / "textfile" / "watch.prom"
    with serve(tmp_path / "emu") as emu:
        manifest = write_manifest(tmp_path, emu.url, sync_job(str(src)))
        w = start_watch(manifest, "--metrics-file", str(prom))
        try:
            w.wait_batches(1)

            def written() -> None:
                assert prom.exists(), "no metrics file yet"

            eventually(written)
            first = metrics()
            assert first[("kodo_jobs_exit_code", frozenset())] == 0
            assert uploaded(first) == 3
            (src / "new.txt").write_text("new")

            def second_batch_written() -> None:
                m = metrics()
                assert uploaded(m) == 1, m  # the metrics of the last batch, not of the first
                assert m[("kodo_jobs_last_run_timestamp_seconds", frozenset())] > \
                    first[("kodo_jobs_last_run_timestamp_seconds", frozenset())]
                assert m[("kodo_jobs_last_success_timestamp_seconds", frozenset())] == \
                    m[("kodo_jobs_last_run_timestamp_seconds", frozenset())]

            eventually(second_batch_written)
            _mirrored(emu, src)
        finally:
            assert w.stop() == 0, w.log_text()


def test_an_unreadable_file_is_a_per_key_error_and_is_sent_once_readable(tmp_path: Path) -> None:
    """As in ``run``: the unreadable file fails alone (its batch is not ok and is retried), the
    others are sent, and once it can be read a retry sends it; the watcher never stops."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_text("ok")
    secret = src / "secret.txt"
    secret.write_text("secret")
    secret.chmod(0)
    try:
        with serve(tmp_path / "emu") as emu:
            manifest = write_manifest(tmp_path, emu.url, sync_job(str(src)))
            w = start_watch(manifest, plain_permissions=True)
            try:
                first = w.wait_batches(1)[0]
                assert first["status"] != "ok", first
                job = first["jobs"]["site"]
                assert job["failures"] == 1, job
                assert job["counts"]["upload"]["done"] == 1, job
                assert sorted(bucket_objects(emu.url)) == ["ok.txt"]
                assert w.proc.poll() is None, w.log_text()  # still watching
                secret.chmod(0o644)
                eventually(lambda: _mirrored(emu, src))
            finally:
                assert w.stop() == 0, w.log_text()
        assert "Permission denied" in w.log_text() or "permission denied" in w.log_text(), w.log_text()
    finally:
        secret.chmod(0o644)
