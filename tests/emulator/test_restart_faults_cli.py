"""Restart on the same data folder, seeded fault injection, admin routes, and the CLI."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import qiniu
import requests
from werkzeug.test import Client

from kodo_jobs.emulator.faults import FaultInjector
from kodo_jobs.emulator.server import RunningEmulator, build_app
from tests.emulator.helpers import entry, mgmt, up_token
from tests.fixtures.emulator import default_config, sdk_for

B = "test-bucket"


def test_restart_keeps_objects_and_unfinished_v2_uploads(emulator_factory: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first: RunningEmulator = emulator_factory(data_dir=data_dir)
    auth, _ = sdk_for(first)
    ret, info = qiniu.put_data(auth.upload_token(B, "kept"), "kept", b"persisted")
    assert info.status_code == 200
    token = up_token(first, B, "later")
    obj = base64.urlsafe_b64encode(b"later").decode()
    headers = {"Authorization": f"UpToken {token}"}
    base = f"/buckets/{B}/objects/{obj}/uploads"
    upload_id = requests.post(first.url + base, headers=headers, timeout=30).json()["uploadId"]
    etag1 = requests.put(f"{first.url}{base}/{upload_id}/1", data=b"x" * (1024 * 1024), headers=headers,
                         timeout=30).json()["etag"]
    first.stop()

    second: RunningEmulator = emulator_factory(data_dir=data_dir)
    assert second.url != "" and second.store.stat(B, "kept").hash == ret["hash"]
    _, bm = sdk_for(second)
    assert bm.stat(B, "kept")[0]["fsize"] == len(b"persisted")
    listing = requests.get(f"{second.url}{base}/{upload_id}", headers=headers, timeout=30).json()
    assert [p["partNumber"] for p in listing["parts"]] == [1]
    etag2 = requests.put(f"{second.url}{base}/{upload_id}/2", data=b"tail", headers=headers,
                         timeout=30).json()["etag"]
    done = requests.post(f"{second.url}{base}/{upload_id}", headers=headers, timeout=30,
                         json={"parts": [{"partNumber": 1, "etag": etag1}, {"partNumber": 2, "etag": etag2}]})
    assert done.status_code == 200, done.text
    with second.store.open_object(B, "later") as f:
        assert f.read() == b"x" * (1024 * 1024) + b"tail"


def test_fault_decisions_are_reproducible_by_seed() -> None:
    one, two = FaultInjector(0.5, 42), FaultInjector(0.5, 42)
    seq1 = [one.decide() for _ in range(200)]
    seq2 = [two.decide() for _ in range(200)]
    assert seq1 == seq2
    kinds = {f.kind for f in seq1 if f is not None}
    assert kinds == {"503", "599", "573", "drop", "slow"}
    assert 60 < sum(f is not None for f in seq1) < 140
    assert [FaultInjector(0.5, 43).decide() for _ in range(200)] != seq1
    assert all(FaultInjector(0.0, 1).decide() is None for _ in range(10))


def _outcome(url: str) -> str:
    try:
        resp = requests.get(url, timeout=30)
    except requests.ConnectionError:
        return "drop"
    assert resp.headers.get("X-Reqid")
    return str(resp.status_code)


def test_http_faults_follow_the_seed_and_spare_admin(emulator: RunningEmulator) -> None:
    slept: list[float] = []
    emulator.app.sleep = slept.append  # "slow" faults record their delay instead of sleeping
    url = emulator.url + "/v4/query?ak=test-ak&bucket=test-bucket"
    runs = []
    for _ in range(2):
        resp = requests.post(emulator.url + "/_emulator/faults", json={"rate": 0.6, "seed": 7}, timeout=30)
        assert resp.json() == {"rate": 0.6, "seed": 7}
        runs.append([_outcome(url) for _ in range(25)])
    assert runs[0] == runs[1]
    source = FaultInjector(0.6, 7)
    decisions = [source.decide() for _ in range(25)]
    expected = ["200" if f is None or f.kind == "slow" else ("drop" if f.kind == "drop" else f.kind)
                for f in decisions]
    assert runs[0] == expected
    slow = [f.delay for f in decisions if f is not None and f.kind == "slow"]
    assert slept == slow * 2
    assert all(0.5 <= d <= 2.0 for d in slept)
    stats = requests.get(emulator.url + "/_emulator/stats", timeout=30).json()  # admin: never faulted
    assert stats["faults_injected"] == 2 * sum(f is not None for f in decisions)
    emulator.set_faults(0.0, 0)
    assert _outcome(url) == "200"


def test_faulted_request_changes_nothing_and_bodies_are_counted(emulator: RunningEmulator) -> None:
    auth, _ = sdk_for(emulator)
    qiniu.put_data(auth.upload_token(B, "k"), "k", b"keep me")
    seed = next(s for s in range(100) if (f := FaultInjector(1.0, s).decide()) and f.kind in ("503", "599", "573"))
    emulator.set_faults(1.0, seed)
    emulator.reset_stats()
    resp = mgmt(emulator, "POST", f"/delete/{entry(B, 'k')}", data=b"padding=" + b"x" * 992)
    assert f is not None and resp.status_code == int(f.kind)  # the seed's first decision
    assert resp.json()["error"].startswith("injected fault")
    emulator.set_faults(0.0, 0)
    assert emulator.store.exists(B, "k")
    stats = emulator.stats()
    assert stats["faults_injected"] == 1
    assert stats["bytes_received"] == 1000
    assert stats["requests"] == {"rs.delete": 1}
    assert stats["objects"] == 1


def test_drop_fault_closes_connection_without_answer(emulator: RunningEmulator) -> None:
    seed = next(s for s in range(100) if (f := FaultInjector(1.0, s).decide()) and f.kind == "drop")
    emulator.set_faults(1.0, seed)
    with pytest.raises(requests.ConnectionError):
        requests.get(emulator.url + "/v4/query", timeout=30)
    emulator.set_faults(0.0, 0)


def test_admin_routes_refuse_non_loopback_clients(tmp_path: Path) -> None:
    app = build_app(default_config(tmp_path / "d"))
    client = Client(app)
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/_emulator/stats", environ_base=remote).status_code == 403
    assert client.post("/_emulator/faults", json={"rate": 1, "seed": 1}, environ_base=remote).status_code == 403
    resp = client.get("/_emulator/stats", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert resp.status_code == 200
    assert set(resp.get_json()) >= {"requests", "bytes_received", "faults_injected", "objects"}
    assert app.faults.rate == 0.0
    app.state.services["db"].close()


def test_cli_prints_listening_line_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kodo_jobs", "emulator", "--host", "127.0.0.1", "--port", "0",
         "--data", str(tmp_path / "cli-data"), "--access-key", "cli-ak", "--secret-key", "cli-sk",
         "--bucket", "pub", "--bucket", "priv:private"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        url = line.split()[-1]
        assert requests.get(url + "/_emulator/stats", timeout=30).json()["objects"] == 0
        auth = qiniu.Auth("cli-ak", "cli-sk")
        token = auth.upload_token("priv", "k")
        resp = requests.post(url + "/", files={"token": (None, token), "key": (None, "k"), "file": ("f", b"x")},
                             timeout=30)
        assert resp.status_code == 200, resp.text
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0
        assert rest == ""  # exactly one line on stdout
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert (tmp_path / "cli-data" / "meta.sqlite3").exists()


def test_cli_refuses_busy_port_and_bad_bucket_with_exit_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for extra in (["--port", str(port)], ["--port", "0", "--bucket", "bad:nope"]):
            res = subprocess.run([sys.executable, "-m", "kodo_jobs", "emulator", "--data", str(tmp_path / "d"), *extra],
                                 capture_output=True, text=True, timeout=60)
            assert res.returncode == 2, res.stderr
            assert res.stdout == ""
            assert "kodo-jobs emulator:" in res.stderr
