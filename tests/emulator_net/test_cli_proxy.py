"""``kodo-jobs emulator --proxy-port 0 --bucket NAME@REGION --domain B=HOST --latency D``: the
two stdout lines, a request through the printed proxy trusting ``<data>/ca.pem``, clean exit;
bad input exits 2 with one clear line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests


def test_cli_prints_the_proxy_line_and_serves_through_it(tmp_path: Path) -> None:
    data = tmp_path / "cli-data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kodo_jobs", "emulator", "--port", "0", "--proxy-port", "0", "--data", str(data),
         "--access-key", "cli-ak", "--secret-key", "cli-sk", "--bucket", "pics@z1", "--domain", "pics=img.example.net",
         "--latency", "5ms"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        first, second = proc.stdout.readline(), proc.stdout.readline()
        assert first.startswith("listening on http://127.0.0.1:"), first
        assert second.startswith("proxy on http://127.0.0.1:"), second
        proxy = second.split()[-1]
        session = requests.Session()
        session.trust_env = False
        session.proxies = {"http": proxy, "https": proxy}
        session.verify = str(data / "ca.pem")
        answer = session.get("https://uc.qiniuapi.com/v4/query?ak=cli-ak&bucket=pics", timeout=30).json()
        assert answer["hosts"][0]["up"]["domains"] == ["upload-z1.qiniup.com", "up-z1.qiniup.com"]
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0 and rest == ""
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_a_restarted_emulator_keeps_its_ca(tmp_path: Path) -> None:
    from kodo_jobs.emulator.certs import load_or_create_ca

    load_or_create_ca(tmp_path)
    first = (tmp_path / "ca.pem").read_bytes()
    load_or_create_ca(tmp_path)
    assert (tmp_path / "ca.pem").read_bytes() == first
    assert (tmp_path / "ca-key.pem").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("extra,message", [
    (["--bucket", "bkt@zz9"], "unknown region 'zz9'"),
    (["--bucket", "bkt", "--domain", "ckt=x.example"], "no bucket 'ckt'"),
    (["--bucket", "bkt", "--domain", "bkt=rs-z0.qiniuapi.com"], "Kodo's own service hosts"),
    (["--latency", "soon"], "--latency"),
])
def test_bad_input_exits_2_with_one_clear_line(tmp_path: Path, extra: list[str], message: str) -> None:
    res = subprocess.run([sys.executable, "-m", "kodo_jobs", "emulator", "--port", "0", "--data", str(tmp_path / "d"),
                          *extra], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and "Traceback" not in res.stderr
    assert res.stdout == ""


def test_busy_proxy_port_exits_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = subprocess.run([sys.executable, "-m", "kodo_jobs", "emulator", "--port", "0", "--proxy-port", str(port),
                              "--data", str(tmp_path / "d")], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res.stderr
    assert "cannot listen" in res.stderr and "Traceback" not in res.stderr
