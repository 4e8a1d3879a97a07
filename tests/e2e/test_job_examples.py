"""Every example manifest really runs against the embedded emulator, does visible work, and
converges: a second run says "nothing to do" and leaves no new file beside the manifest other
than the ignored state (``.kodo-jobs/`` and ``*.kjstate*``). Each test works on a copy of
``manifests/`` in a temp folder, so the repository stays clean. fetch.yaml names a local
origin on port 8000; the copy is pointed at an origin started here on a free port, so the test
never depends on (or skips because of) what else holds port 8000."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.sync_helpers import cli

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
ORIGIN = "127.0.0.1:8000"
ALL = sorted(p.name for p in MANIFESTS.glob("*.yaml"))


def _ignored(name: str) -> bool:
    """The state the repository's .gitignore covers: the embedded data folder and state files."""
    return name == ".kodo-jobs" or ".kjstate" in name


def _listing(folder: Path) -> set[str]:
    """Every path under ``folder``, relative, except what the .gitignore covers."""
    out: set[str] = set()
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if not _ignored(rel.parts[0]):
            out.add(rel.as_posix())
    return out


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    target = tmp_path / "manifests"
    shutil.copytree(MANIFESTS, target, ignore=shutil.ignore_patterns(".kodo-jobs", "*.kjstate*"))
    return target


@pytest.fixture
def origin(examples: Path) -> Iterator[str]:
    """A loopback HTTP origin serving example-data (fetch URLs and the mirror origin)."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(examples / "example-data")))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _point_at(examples: Path, where: str) -> None:
    """Rewrite every file of the copy that names the example origin to ``where``."""
    for path in examples.iterdir():
        if path.is_file() and path.suffix in (".yaml", ".txt"):
            text = path.read_text(encoding="utf-8")
            if ORIGIN in text:
                path.write_text(text.replace(ORIGIN, where), encoding="utf-8")


def test_every_manifest_is_covered() -> None:
    assert {"batch.yaml", "cdn.yaml", "chained.yaml", "fetch.yaml", "pfop.yaml", "quickstart.yaml",
            "sync.yaml"} <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_example_works_then_converges(examples: Path, origin: str, name: str) -> None:
    _point_at(examples, origin)
    before = _listing(examples)
    first = cli("run", examples / name)
    assert first.code == 0, first.out + first.err
    assert "nothing to do" not in first.out, first.out           # the first run does visible work
    assert "disabled" not in first.out or name in ("sync.yaml", "pfop.yaml"), first.out
    second = cli("run", examples / name)
    assert second.code == 0, second.out + second.err
    assert second.out.startswith("kodo-jobs: nothing to do"), second.out
    assert _listing(examples) == before, sorted(_listing(examples) ^ before)


def test_batch_example_selects_in_every_job(examples: Path) -> None:
    """Every batch job finds something on the seeded emulator (none selects nothing)."""
    first = cli("run", examples / "batch.yaml", "--report", str(examples / ".kodo-jobs" / "r.json"))
    assert first.code == 0, first.out + first.err
    report = json.loads((examples / ".kodo-jobs" / "r.json").read_text(encoding="utf-8"))
    idle = [j["name"] for j in report["jobs"] if not any(c.get("done") for c in j["counts"].values())]
    assert idle == [], first.out


def test_fetch_example_fetches_and_mirrors(examples: Path, origin: str) -> None:
    """All three fetch jobs run: URLs, async tasks from urls.txt, and the mirror prefetch."""
    _point_at(examples, origin)
    report = examples / ".kodo-jobs" / "r.json"
    first = cli("run", examples / "fetch.yaml", "--report", str(report))
    assert first.code == 0, first.out + first.err
    done = {j["name"]: {op: c.get("done", 0) for op, c in j["counts"].items()}
            for j in json.loads(report.read_text(encoding="utf-8"))["jobs"]}
    assert done == {"import": {"fetch": 2}, "import-list": {"fetch": 2}, "warm-mirror": {"prefetch": 2}}
    ok = examples / ".kodo-jobs" / "out" / "fetch-ok.tsv"
    assert len(ok.read_text(encoding="utf-8").splitlines()) == 2
