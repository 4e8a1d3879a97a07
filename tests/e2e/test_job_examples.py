"""The example manifests of the non-sync kinds really run against the embedded emulator, twice
(a copy of ``manifests/`` in a temp folder, so the repository stays clean). fetch.yaml names a
local origin on port 8000; the copy is pointed at an origin started here on a free port, so the
test never depends on (or skips because of) what else holds port 8000."""

from __future__ import annotations

import shutil
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


def test_fetch_example_with_its_origin(examples: Path) -> None:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = partial(Quiet, directory=str(examples / "example-data"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    manifest = examples / "fetch.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert "http://127.0.0.1:8000/" in text
    manifest.write_text(text.replace("127.0.0.1:8000", f"127.0.0.1:{server.server_address[1]}"), encoding="utf-8")
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
