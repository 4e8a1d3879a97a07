"""Region discovery through the CLI against a real emulator process on loopback.

* ``hosts: {uc: URL}`` (region auto with a private uc): every service is asked of uc, once; the
  answer is kept in the state file, so the next run (a cron run) does not ask again.
* Upload hosts that answer ``400 incorrect region, please use up-z2.qiniup.com``: the run stops
  at the first such answer with one message naming the bucket's region, instead of one failed
  action per file.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import AK, BUCKET, SK, EmulatorProc, kodo_jobs, make_tree


def _manifest(folder: Path, target_yaml: str, jobs_yaml: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = ("version: 1\ntarget:\n" + textwrap.indent(textwrap.dedent(target_yaml).strip(), "  ")
            + f"\n  access_key: {AK}\n  secret_key: {SK}\n"
            + "jobs:\n" + textwrap.indent(textwrap.dedent(jobs_yaml).strip(), "  ") + "\n")
    path = folder / "jobs.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _sync(source: str = "./site", concurrency: int = 1) -> str:
    return f"""
    - name: site
      kind: sync
      source: {source}
      bucket: {BUCKET}
      concurrency: {concurrency}
    """


def _queries(emu: EmulatorProc) -> int:
    return sum(n for route, n in emu.stats()["requests"].items() if "query" in route)


def test_region_auto_asks_uc_once_and_the_next_run_reads_the_state_file(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    make_tree(tmp_path / "site", 5)
    manifest = _manifest(tmp_path, f"hosts: {{uc: '{emu.url}'}}", _sync())
    first = kodo_jobs("run", manifest, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert len(emu.objects()) == 5
    assert _queries(emu) == 1
    state = next(tmp_path.glob(".kodo-jobs*/**/*.kjstate"), None) or next(tmp_path.rglob("*.kjstate"))
    with sqlite3.connect(state) as db:
        rows = db.execute("SELECT k, v FROM kv WHERE k LIKE 'uc-query:%'").fetchall()
    assert len(rows) == 1 and AK not in rows[0][0] and AK not in rows[0][1]
    assert json.loads(rows[0][1])["regions"][0]["services"]["up"] == [emu.url]
    make_tree(tmp_path / "site" / "more", 2, seed=9)
    second = kodo_jobs("run", manifest, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(emu.objects()) == 7
    assert _queries(emu) == 1  # within the ttl: not asked again


class _WrongRegion(BaseHTTPRequestHandler):
    """An upload host of the wrong region: every request gets Kodo's 400."""

    hits: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.hits.append(self.path)
        body = json.dumps({"error": "incorrect region, please use up-z2.qiniup.com"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Reqid", "wrong-region-reqid")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def wrong_up() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Handler", (_WrongRegion,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_incorrect_region_from_fixed_hosts_stops_the_run_with_one_message(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc], wrong_up: tuple[str, list[str]]) -> None:
    emu = emulator_proc()
    up, hits = wrong_up
    make_tree(tmp_path / "site", 20)
    target = f"hosts: {{up: '{up}', io: '{emu.url}', rs: '{emu.url}', rsf: '{emu.url}', api: '{emu.url}'}}"
    manifest = _manifest(tmp_path, target, _sync())
    result = kodo_jobs("run", manifest, cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out
    assert "bucket 'e2e-bucket' is in region z2" in out
    assert len(hits) == 1  # the first answer stopped the job: not one failed upload per file
    assert emu.objects() == {}
