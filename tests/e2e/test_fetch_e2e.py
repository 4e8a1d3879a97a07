"""kind: fetch end to end: 200 URLs from a local HTTP server (some 404), the qshell-like failure
file, a rerun that takes just the failures, skip_existing, async fetch and mirror prefetch.
Objects are checked with the official SDK (list/stat + qiniu's etag)."""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qiniu.utils

from kodo_jobs.emulator.server import RunningEmulator
from tests.e2e.sync_helpers import BUCKET, _sdk, bucket_objects, cli, serve, write_manifest
from tests.emulator_services.helpers import Origin, serve_origin


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[RunningEmulator]:
    with serve(tmp_path / "emulator-data") as running:
        yield running


@pytest.fixture
def origin() -> Iterator[Origin]:
    server, stop = serve_origin()
    yield server
    stop()


def etag(data: bytes) -> str:
    return str(qiniu.utils.etag_stream(io.BytesIO(data)))


def fetch_job(**fields: Any) -> dict[str, Any]:
    return {"name": "import", "kind": "fetch", "bucket": BUCKET, **fields}


def body(i: int) -> bytes:
    return f"file {i}\n".encode() * (i + 1)


def test_200_urls_failures_file_and_rerun_of_just_the_failures(
        emu: RunningEmulator, origin: Origin, tmp_path: Path) -> None:
    missing = {i for i in range(200) if i % 10 == 3}  # 20 URLs answer 404
    for i in range(200):
        if i not in missing:
            origin.files[f"/files/{i:03d}.txt"] = body(i)
    urls = [f"{origin.url}/files/{i:03d}.txt" for i in range(200)]
    (tmp_path / "urls.txt").write_text("# the import\n" + "\n".join(urls) + "\n", encoding="utf-8")
    job = fetch_job(urls_file="urls.txt", key_prefix="imp/", success_file="ok.txt", failure_file="failed.txt")
    manifest = write_manifest(tmp_path, emu.url, job)
    res = cli("run", manifest)
    assert res.code == 1
    failed = [line.split("\t") for line in (tmp_path / "failed.txt").read_text().splitlines()]
    assert sorted(f[0] for f in failed) == sorted(urls[i] for i in missing)
    assert all(f[1] == "imp/files/" + f[0].rsplit("/", 1)[1] and f[2].isdigit() and f[3] for f in failed)
    ok = (tmp_path / "ok.txt").read_text().splitlines()
    assert len(ok) == 180
    objects = bucket_objects(emu.url, prefix="imp/")
    assert len(objects) == 180
    assert all(objects[f"imp/files/{i:03d}.txt"]["hash"] == etag(body(i)) for i in range(200) if i not in missing)

    for i in missing:  # the sources appear; a rerun on the failure file fetches exactly those
        origin.files[f"/files/{i:03d}.txt"] = body(i)
    gets_before = len([r for r in origin.received if r.method == "GET"])
    manifest = write_manifest(tmp_path, emu.url, {**job, "urls_file": "failed.txt"})
    res = cli("run", manifest)
    assert res.code == 0, res.out + res.err
    assert len([r for r in origin.received if r.method == "GET"]) - gets_before == 20
    assert (tmp_path / "failed.txt").read_text() == ""
    assert len((tmp_path / "ok.txt").read_text().splitlines()) == 20
    objects = bucket_objects(emu.url, prefix="imp/")
    assert len(objects) == 200 and all(objects[f"imp/files/{i:03d}.txt"]["hash"] == etag(body(i)) for i in missing)

    # skip_existing: nothing is fetched again
    gets_before = len([r for r in origin.received if r.method == "GET"])
    manifest = write_manifest(tmp_path, emu.url, {**job, "skip_existing": True})
    res = cli("run", manifest)
    assert res.code == 0 and len([r for r in origin.received if r.method == "GET"]) == gets_before


def test_skip_existing_by_etag_refetches_changed_content(emu: RunningEmulator, origin: Origin, tmp_path: Path) -> None:
    origin.files["/a.txt"] = b"version 1"
    manifest = write_manifest(tmp_path, emu.url, fetch_job(urls=[f"{origin.url}/a.txt"]))
    assert cli("run", manifest).code == 0
    origin.files["/a.txt"] = b"version 2"
    lines = f"{origin.url}/a.txt\ta.txt\t{etag(b'version 1')}\n"
    (tmp_path / "same.txt").write_text(lines, encoding="utf-8")
    (tmp_path / "changed.txt").write_text(lines.replace(etag(b"version 1"), etag(b"version 2")), encoding="utf-8")
    assert cli("run", write_manifest(tmp_path, emu.url, fetch_job(urls_file="same.txt", skip_existing="etag"))).code == 0
    assert bucket_objects(emu.url)["a.txt"]["hash"] == etag(b"version 1")  # matched: skipped
    assert cli("run", write_manifest(tmp_path, emu.url, fetch_job(urls_file="changed.txt", skip_existing="etag"))).code == 0
    assert bucket_objects(emu.url)["a.txt"]["hash"] == etag(b"version 2")


def test_async_fetch_polls_until_stored(emu: RunningEmulator, origin: Origin, tmp_path: Path) -> None:
    for i in range(5):
        origin.files[f"/as/{i}"] = body(i)
    urls = [f"{origin.url}/as/{i}" for i in range(6)]  # the last one is missing
    manifest = write_manifest(tmp_path, emu.url, fetch_job(urls=urls, mode="async", failure_file="f.txt"))
    report = tmp_path / "r.json"
    res = cli("run", manifest, "--report", report)
    assert res.code == 1
    objects = bucket_objects(emu.url, prefix="as/")
    assert {k: o["hash"] for k, o in objects.items()} == {f"as/{i}": etag(body(i)) for i in range(5)}
    assert [line.split("\t")[:2] for line in (tmp_path / "f.txt").read_text().splitlines()] == [[urls[5], "as/5"]]
    assert json.loads(report.read_text())["jobs"][0]["failures"][0]["key"] == "as/5"


def test_prefetch_from_the_mirror_origin(emu: RunningEmulator, origin: Origin, tmp_path: Path) -> None:
    origin.files["/mirror/m/1.txt"] = b"one"
    origin.files["/mirror/m/2.txt"] = b"two"
    req = urllib.request.Request(emu.url + "/_emulator/mirror", method="POST",
                                 data=json.dumps({"bucket": BUCKET, "source": origin.url + "/mirror/"}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()  # noqa: S310 - loopback
    manifest = write_manifest(tmp_path, emu.url, fetch_job(prefetch=True, keys=["m/1.txt", "m/2.txt"]))
    res = cli("run", manifest)
    assert res.code == 0, res.out + res.err
    bm = _sdk(emu.url)
    for key, data in (("m/1.txt", b"one"), ("m/2.txt", b"two")):
        ret, info = bm.stat(BUCKET, key)
        assert ret is not None and ret["hash"] == etag(data), info
