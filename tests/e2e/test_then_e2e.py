"""sync ``then:`` end to end: the CDN refresh covers exactly the URLs of the objects the sync
uploaded, updated or deleted (quoted like the SDK quotes keys), and pfop runs on the uploaded
keys only. Objects are checked with the official SDK; the refreshed URLs are read back from the
emulator's refresh task list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.kodo.client import KodoClient
from tests.e2e.sync_helpers import AK, BUCKET, SK, _sdk, cli, make_tree, serve, sync_job, write_manifest

BASE = "https://cdn.example.com/"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[RunningEmulator]:
    with serve(tmp_path / "emulator-data") as running:
        yield running


def refreshed(emu: RunningEmulator) -> list[str]:
    """Every URL the emulator's CDN was asked to refresh so far (all task pages)."""
    urls: list[str] = []
    with KodoClient.for_endpoint(emu.url, AK, SK) as client:
        page_no = 0
        while True:
            page = client.cdn.refresh_list(page_no=page_no, page_size=100)
            urls += [t.url for t in page.items]
            if not page.items or len(urls) >= page.total:
                return sorted(urls)
            page_no += 1


MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"  # a whole ftyp box


def url(key: str) -> str:
    return BASE + quote(key)


def test_then_refreshes_exactly_the_changed_urls_and_processes_uploads(emu: RunningEmulator, tmp_path: Path) -> None:
    src = tmp_path / "src"
    # vframe decodes video (Kodo fails anything else): every file starts like an MP4
    make_tree(src, {"index.html": MP4 + b"<h1>v1</h1>", "a b/caf\u00e9.txt": MP4 + b"text",
                    "img/logo.png": MP4 + b"png", "keep.txt": MP4 + b"k"})
    job = sync_job(source="./src", prefix="site/", delete=True, then={
        "cdn_refresh": {"base_url": BASE},
        "pfop": {"fops": ["vframe/jpg/offset/1|saveas/$(bucket):thumbs/$(key).jpg"]},
    })
    manifest = write_manifest(tmp_path, emu.url, job)
    res = cli("run", manifest)
    assert res.code == 0, res.out + res.err
    first = ["site/a b/café.txt", "site/img/logo.png", "site/index.html", "site/keep.txt"]
    assert refreshed(emu) == sorted(url(k) for k in first)
    assert url("site/a b/café.txt") == "https://cdn.example.com/site/a%20b/caf%C3%A9.txt"
    bm = _sdk(emu.url)
    for key in first:
        assert bm.stat(BUCKET, key)[0] is not None
        assert bm.stat(BUCKET, f"thumbs/{key}.jpg")[0] is not None, key

    # one update, one new file, one deletion, one file untouched
    (src / "index.html").write_bytes(MP4 + b"<h1>v2</h1>")
    (src / "new.txt").write_bytes(MP4 + b"new")
    (src / "img/logo.png").unlink()
    thumbs_before = bm.stat(BUCKET, "thumbs/site/keep.txt.jpg")[0]
    res = cli("run", manifest)
    assert res.code == 0, res.out + res.err
    second = ["site/img/logo.png", "site/index.html", "site/new.txt"]
    assert refreshed(emu) == sorted([url(k) for k in first] + [url(k) for k in second])
    assert bm.stat(BUCKET, "site/img/logo.png")[0] is None
    assert bm.stat(BUCKET, "thumbs/site/new.txt.jpg")[0] is not None
    assert bm.stat(BUCKET, "thumbs/site/keep.txt.jpg")[0] == thumbs_before  # not processed again

    # nothing changed: nothing refreshed, no follow-up job at all
    res = cli("run", manifest)
    assert res.code == 0 and "then-cdn" not in res.out
    assert len(refreshed(emu)) == len(first) + len(second)


def test_failed_refresh_is_retried_by_the_next_run(emu: RunningEmulator, tmp_path: Path) -> None:
    import json
    import urllib.request

    def limit(quota: int) -> None:
        req = urllib.request.Request(emu.url + "/_emulator/cdn", data=json.dumps({"url_quota": quota}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()  # noqa: S310 - loopback

    src = tmp_path / "src"
    make_tree(src, {f"f{i}.txt": str(i) for i in range(3)})
    limit(0)
    manifest = write_manifest(tmp_path, emu.url, sync_job(source="./src", then={"cdn_refresh": {"base_url": BASE}}))
    res = cli("run", manifest)
    assert res.code == 1 and "quota" in res.out + res.err
    assert refreshed(emu) == []
    limit(500)
    res = cli("run", manifest)  # the sync has nothing to do; the pending refresh is sent now
    assert res.code == 0, res.out + res.err
    assert refreshed(emu) == sorted(url(f"f{i}.txt") for i in range(3))
    res = cli("run", manifest)
    assert res.code == 0 and len(refreshed(emu)) == 3
