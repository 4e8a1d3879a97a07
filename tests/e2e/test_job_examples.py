"""The example manifests of the non-sync kinds really run against the embedded emulator, twice
(a copy of ``manifests/`` in a temp folder, so the repository stays clean). fetch.yaml needs a
local origin on port 8000 and is run with one started here when that port is free."""

from __future__ import annotations

import shutil
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.sync_helpers import cli

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    target = tmp_path / "manifests"
    shutil.copytree(MANIFESTS, target, ignore=shutil.ignore_patterns(".kodo-jobs", "*.kjstate*"))
    return target


@pytest.mark.parametrize("name", ["batch.yaml", "pfop.yaml", "cdn.yaml", "chained.yaml"])
def test_example_runs_twice(examples: Path, name: str) -> None:
    first = cli("run", examples / name)
    assert first.code == 0, first.out + first.err
    second = cli("run", examples / name)
    assert second.code == 0, second.out + second.err


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_fetch_example_with_its_origin(examples: Path) -> None:
    if not _port_free(8000):
        pytest.skip("port 8000 is taken: fetch.yaml's origin cannot be started")
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = partial(Quiet, directory=str(examples / "example-data"))
    server = ThreadingHTTPServer(("127.0.0.1", 8000), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        first = cli("run", examples / "fetch.yaml")
        assert first.code == 0, first.out + first.err
        assert len((examples / "fetch-ok.tsv").read_text().splitlines()) == 2
        second = cli("run", examples / "fetch.yaml")
        assert second.code == 0 and "nothing to do" in second.out
    finally:
        server.shutdown()
        server.server_close()
