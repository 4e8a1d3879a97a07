"""The official Node.js SDK judges the emulator (issue 21): ``judge.js`` runs form and resumable
v1/v2 uploads, stat/copy/move/delete, list v1 and v2, a batch answering 298, a fetch from a
loopback URL, pfop and prefop, private download URLs and a wrong secret against a started
emulator, with npm ``qiniu`` at the version pinned in ``package.json`` (``.ci/run`` installs
Node.js and runs ``npm ci`` here; the test runs ``npm ci`` itself when the package is missing).

The emulator listens on port 80 of a loopback address of its own: the Node SDK signs
``Host: host:port:port`` when a URL names a port, and real Kodo listens on default ports; the
emulator is not made to accept that wrong signature. Missing node or package: the test fails
(a skipped judge would pass CI without judging anything)."""

from __future__ import annotations

import errno
import json
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kodo_jobs.emulator.server import RunningEmulator, start_emulator
from kodo_jobs.emulator.services import store_bytes
from tests.emulator_services.helpers import Origin, serve_origin
from tests.fixtures.emulator import default_config

HERE = Path(__file__).resolve().parent
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"pretend video" * 100


def _installed_qiniu() -> str | None:
    manifest = HERE / "node_modules" / "qiniu" / "package.json"
    return str(json.loads(manifest.read_text())["version"]) if manifest.is_file() else None


def _node() -> str:
    """node, with npm ``qiniu`` at the pinned version installed beside this file.

    When ``node_modules`` is missing or holds another version, ``npm ci`` installs it from the
    committed lock file, so the README's test command works on a fresh machine with Node.js
    (``.ci/run`` runs the same ``npm ci`` first)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed for the Node.js SDK judge: apt-get install nodejs npm")
    pinned = json.loads((HERE / "package.json").read_text())["dependencies"]["qiniu"]
    if _installed_qiniu() != pinned:
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.fail(f"npm ci in {HERE} failed:\n{done.stdout}{done.stderr}")
    installed = _installed_qiniu()
    assert installed == pinned, f"node_modules has qiniu {installed}, package.json pins {pinned}: run npm ci"
    return node


@pytest.fixture
def emulator_on_port_80(tmp_path: Path) -> Iterator[RunningEmulator]:
    """An emulator on port 80 of a random 127.x.y.z (retried when that address is taken)."""
    rng = random.Random()
    for _ in range(20):
        host = f"127.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
        try:
            running = start_emulator(default_config(tmp_path / "data", host=host, port=80))
        except OSError as exc:
            if exc.errno == errno.EACCES:
                pytest.fail("binding port 80 needs root (or CAP_NET_BIND_SERVICE): the Node SDK judge "
                            "must talk to a default port")
            if exc.errno == errno.EADDRINUSE:
                continue
            raise
        with running:
            yield running
        return
    pytest.fail("no free loopback address for port 80")


@pytest.fixture
def origin() -> Iterator[Origin]:
    yield from _origin()


def _origin() -> Iterator[Origin]:
    found, stop = serve_origin()
    try:
        yield found
    finally:
        stop()


@pytest.mark.timeout(120)
def test_node_sdk_judges_the_emulator(emulator_on_port_80: RunningEmulator, origin: Origin,
                                      tmp_path: Path) -> None:
    node = _node()
    emulator = emulator_on_port_80
    origin.files["/fetched.txt"] = b"fetched by the emulator for the node judge\n"
    store_bytes(emulator.store, "test-bucket", "media/video.mp4", MP4, "video/mp4")
    work = tmp_path / "work"
    work.mkdir()
    config = tmp_path / "judge.json"
    config.write_text(json.dumps({
        "host": emulator.host, "ak": emulator.config.access_key, "sk": emulator.config.secret_key,
        "bucket": "test-bucket", "privateBucket": "private-bucket", "origin": origin.url, "workdir": str(work),
    }))
    proc = subprocess.run([node, str(HERE / "judge.js"), str(config)], cwd=HERE, capture_output=True,
                          text=True, timeout=100)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    failed = [r for r in results if not r["ok"]]
    assert proc.returncode == 0 and not failed, (failed, proc.stderr[-3000:])
    assert [r["check"] for r in results] == [
        "form upload", "resumable v1 upload", "resumable v2 upload", "stat, copy, move, delete",
        "list v1 and v2", "batch with a 298", "fetch from a loopback URL", "pfop and prefop",
        "private download URLs", "a wrong secret is refused everywhere",
    ]
