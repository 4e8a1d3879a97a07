"""``run --metrics-file`` / ``--pushgateway`` (issue 17 part 1): Prometheus metrics of every run.

The file is read back with ``prometheus_client``'s own parser; pushes go to a loopback
Pushgateway stand-in that records each request."""

from __future__ import annotations

import base64
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from kodo_jobs.actions import Action
from kodo_jobs.kodo.client import KodoClient
from kodo_jobs.kodo.errors import Throttled
from kodo_jobs.pipeline.metrics import RunCounters, split_credentials
from tests.e2e.sync_helpers import cli, make_tree, serve, sync_job, write_manifest
from tests.pipeline.recorder import recording_server

FILES = {"a.txt": b"a" * 10, "b/c.txt": b"c" * 200, "d.bin": b"d" * 3000}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``{(sample name, labels): value}`` as prometheus_client parses the exposition text."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(parsed: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return parsed[(name, frozenset(labels.items()))]


def _bad_credentials(manifest: Path) -> None:
    doc = yaml.safe_load(manifest.read_text())
    doc["target"]["secret_key"] = "not-the-secret-key-at-all"
    manifest.write_text(yaml.safe_dump(doc))


def test_metrics_file_of_a_successful_run(tmp_path: Path) -> None:
    make_tree(tmp_path / "src", FILES)
    prom = tmp_path / "textfile" / "kodo.prom"
    with serve(tmp_path / "emu") as emu:
        m = write_manifest(tmp_path, emu.url, sync_job())
        res = cli("run", m, "--metrics-file", prom)
    assert res.code == 0, res.err
    text = prom.read_text()
    families = list(text_string_to_metric_families(text))
    for f in families:  # Prometheus naming: prefix, unit suffixes, counters end in _total
        assert f.name.startswith("kodo_jobs_"), f.name
        if f.type == "counter":
            assert all(s.name.endswith("_total") for s in f.samples), f.name
        if "timestamp" in f.name or "duration" in f.name:
            assert f.name.endswith("_seconds"), f.name
        if "bytes" in f.name:
            assert f.name.endswith("_bytes"), f.name
    p = samples(text)
    assert value(p, "kodo_jobs_exit_code") == 0
    assert value(p, "kodo_jobs_job_actions_total", kodo_job="site", op="upload", outcome="done") == 3
    assert value(p, "kodo_jobs_actions_total", op="upload", outcome="done") == 3
    assert value(p, "kodo_jobs_job_payload_bytes_total", kodo_job="site", direction="upload") == 3210
    assert value(p, "kodo_jobs_payload_bytes_total", direction="upload") == 3210
    assert value(p, "kodo_jobs_last_success_timestamp_seconds") == value(p, "kodo_jobs_last_run_timestamp_seconds")
    assert value(p, "kodo_jobs_job_status", kodo_job="site", kind="sync", status="ok") == 1
    assert value(p, "kodo_jobs_retries_total") == 0
    assert value(p, "kodo_jobs_throttled_answers_total") == 0
    assert value(p, "kodo_jobs_run_duration_seconds") >= 0
    assert not list(prom.parent.glob("*.prom.*")), "the temporary file of the atomic write is left behind"


def test_a_failed_run_writes_its_exit_code_and_keeps_the_last_success(tmp_path: Path) -> None:
    make_tree(tmp_path / "src", FILES)
    prom = tmp_path / "kodo.prom"
    with serve(tmp_path / "emu") as emu:
        m = write_manifest(tmp_path, emu.url, sync_job())
        assert cli("run", m, "--metrics-file", prom).code == 0
        first = samples(prom.read_text())
        _bad_credentials(m)
        make_tree(tmp_path / "src", {"new.txt": b"new"})
        res = cli("run", m, "--metrics-file", prom)
    assert res.code == 1, res.err
    p = samples(prom.read_text())
    assert value(p, "kodo_jobs_exit_code") == 1
    assert value(p, "kodo_jobs_job_exit_code", kodo_job="site") == 1
    assert value(p, "kodo_jobs_job_status", kodo_job="site", kind="sync", status="aborted") == 1
    success = "kodo_jobs_last_success_timestamp_seconds"
    assert value(p, success) == value(first, success)  # carried over from the previous file
    assert value(p, "kodo_jobs_job_last_success_timestamp_seconds", kodo_job="site") == value(first, success)
    assert value(p, "kodo_jobs_last_run_timestamp_seconds") > value(first, "kodo_jobs_last_run_timestamp_seconds")


def test_an_invalid_manifest_still_writes_the_metrics_file(tmp_path: Path) -> None:
    m = tmp_path / "m.yaml"
    m.write_text("version: 1\njobs: []\n")
    prom = tmp_path / "kodo.prom"
    res = cli("run", m, "--metrics-file", prom)
    assert res.code == 2
    p = samples(prom.read_text())
    assert value(p, "kodo_jobs_exit_code") == 2
    assert not any(name.startswith("kodo_jobs_job_") for name, _ in p)
    assert ("kodo_jobs_last_success_timestamp_seconds", frozenset()) not in p


def test_an_interrupted_run_writes_exit_code_130(tmp_path: Path) -> None:
    make_tree(tmp_path / "src", {f"f{i}.bin": bytes([i]) * 50_000 for i in range(6)})
    prom = tmp_path / "kodo.prom"
    with serve(tmp_path / "emu") as emu:
        m = write_manifest(tmp_path, emu.url, sync_job(concurrency=1))
        res = cli("run", m, "--max-bytes", "1", "--metrics-file", prom)
    assert res.code == 130, res.err
    p = samples(prom.read_text())
    assert value(p, "kodo_jobs_exit_code") == 130
    assert value(p, "kodo_jobs_job_exit_code", kodo_job="site") == 130


def test_pushgateway_put_after_success_post_after_failure_with_basic_auth(tmp_path: Path) -> None:
    make_tree(tmp_path / "src", FILES)
    with serve(tmp_path / "emu") as emu, recording_server() as gw:
        m = write_manifest(tmp_path, emu.url, sync_job())
        url = gw.url.replace("http://", "http://pusher:pa55-w0rd@")
        ok = cli("run", m, "--pushgateway", url)
        _bad_credentials(m)
        make_tree(tmp_path / "src", {"new.txt": b"new"})
        failed = cli("run", m, "--pushgateway", url)
    assert ok.code == 0 and failed.code == 1, ok.err + failed.err
    put, post = gw.requests
    assert (put.method, put.path) == ("PUT", "/metrics/job/kodo-jobs/manifest/m")
    assert (post.method, post.path) == ("POST", "/metrics/job/kodo-jobs/manifest/m")
    want = "Basic " + base64.b64encode(b"pusher:pa55-w0rd").decode()
    assert put.headers["Authorization"] == want and post.headers["Authorization"] == want
    pushed = samples(put.body.decode())
    assert value(pushed, "kodo_jobs_job_actions_total", kodo_job="site", op="upload", outcome="done") == 3
    assert value(pushed, "kodo_jobs_last_success_timestamp_seconds") > 0
    after = samples(post.body.decode())
    assert value(after, "kodo_jobs_exit_code") == 1
    # a POST replaces only the families it carries: the last success stays in the Pushgateway
    assert not any("last_success" in name for name, _ in after)
    assert "pa55-w0rd" not in ok.err + failed.err + ok.out + failed.out


def test_each_shard_pushes_to_its_own_group(tmp_path: Path) -> None:
    make_tree(tmp_path / "src", FILES)
    with serve(tmp_path / "emu") as emu, recording_server() as gw:
        m = write_manifest(tmp_path, emu.url, sync_job())
        for i in range(2):
            assert cli("run", m, "--shard", f"{i}/2", "--pushgateway", gw.url).code == 0
    assert [r.path for r in gw.requests] == ["/metrics/job/kodo-jobs/manifest/m/shard/0-of-2",
                                             "/metrics/job/kodo-jobs/manifest/m/shard/1-of-2"]


def test_an_unreachable_pushgateway_warns_without_its_password_and_keeps_the_exit_code(tmp_path: Path) -> None:
    make_tree(tmp_path / "src", FILES)
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with serve(tmp_path / "emu") as emu:
        m = write_manifest(tmp_path, emu.url, sync_job())
        res = cli("run", m, "--pushgateway", f"http://pusher:pa55-w0rd@127.0.0.1:{port}")
    assert res.code == 0
    assert "could not push metrics" in res.err and "***@127.0.0.1" in res.err, res.err
    assert "pa55-w0rd" not in res.err + res.out


def test_throttled_answers_are_counted_from_the_wire() -> None:
    counters = RunCounters()
    with recording_server(statuses=(573,)) as server, KodoClient.for_endpoint(server.url, "ak", "sk") as client:
        counters.watch(client)
        with pytest.raises(Throttled):
            client.rs.stat("b", "k")
        counters.job_started("site", 1, 0)
        with pytest.raises(Throttled):
            client.rs.stat("b", "k")
        counters.job_finished("site")
    assert counters.throttled_run == 2  # one while planning (the run only), one while "site" executed
    assert counters.throttled == {"site": 1}


def test_retries_are_counted_per_job() -> None:
    counters = RunCounters()
    for job in ("a", "a", "b"):
        counters.retrying(Action(job, "upload", "k"), 1, 0.1, "503")
    assert counters.retries == {"a": 2, "b": 1}


@pytest.mark.parametrize(("url", "want"), [
    ("http://gw:9091", ("http://gw:9091", None, None)),
    ("https://u:p%40ss@gw:9091/base", ("https://gw:9091/base", "u", "p@ss")),
    ("http://token@[::1]:9091", ("http://[::1]:9091", "token", "")),
])
def test_split_credentials(url: str, want: tuple[Any, ...]) -> None:
    assert split_credentials(url) == want
