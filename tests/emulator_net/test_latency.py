"""``--latency``: every answer waits the configured delay first (admin routes excepted). The
router's sleep is injected, so nothing here depends on timing."""

from __future__ import annotations

from pathlib import Path

from werkzeug.test import Client

from kodo_jobs.emulator.hostroute import HostRouter, Tunnels
from kodo_jobs.emulator.server import build_app
from tests.fixtures.emulator import default_config


def test_every_answer_waits_the_latency_first(tmp_path: Path) -> None:
    app = build_app(default_config(tmp_path / "emu", latency=0.03))
    slept: list[float] = []
    router = HostRouter(app, Tunnels(), latency=app.state.config.latency, sleep=slept.append)
    client = Client(router)
    try:
        assert client.get("/v4/query?ak=test-ak&bucket=test-bucket").status_code == 200
        assert client.post("/stat/eA==").status_code == 401  # refused answers wait too
        assert client.get("/nowhere").status_code == 404
        assert slept == [0.03, 0.03, 0.03]
        assert client.get("/_emulator/stats", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
        assert slept == [0.03, 0.03, 0.03]  # admin routes answer at once
    finally:
        app.state.services["db"].close()


def test_no_latency_no_sleep(tmp_path: Path) -> None:
    app = build_app(default_config(tmp_path / "emu"))
    slept: list[float] = []
    router = HostRouter(app, Tunnels(), latency=0.0, sleep=slept.append)
    try:
        assert Client(router).get("/v4/query?ak=test-ak&bucket=test-bucket").status_code == 200
        assert slept == []
    finally:
        app.state.services["db"].close()
