"""Clock skew: the run compares the server's ``Date`` with the local clock, warns above a minute
and widens signed deadlines, so short-lived tokens still work against a server 10 minutes ahead."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from kodo_jobs.emulator.config import EmulatorConfig
from kodo_jobs.emulator.server import RunningEmulator, start_emulator
from kodo_jobs.kodo import clock
from kodo_jobs.kodo.client import KodoClient
from tests.e2e.sync_helpers import AK, BUCKET, SK, cli, make_tree, sync_job, write_manifest

PRIVATE = "private-bucket"
AHEAD = 600.0


@contextlib.contextmanager
def skewed(data: Path, offset: float) -> Iterator[RunningEmulator]:
    config = EmulatorConfig(data_dir=data, access_key=AK, secret_key=SK, buckets=(BUCKET, f"{PRIVATE}:private"))
    with start_emulator(config, clock=lambda: time.time() + offset) as emu:
        yield emu


def test_measure_skew_reads_the_server_date(tmp_path: Path) -> None:
    with skewed(tmp_path / "emu", AHEAD) as emu, KodoClient.for_endpoint(emu.url, AK, SK) as client:
        skew = clock.measure_skew(client.http, emu.url)
    assert skew is not None and abs(skew - AHEAD) < 3


def test_server_ten_minutes_ahead_warns_and_short_tokens_still_work(tmp_path: Path) -> None:
    try:
        with skewed(tmp_path / "emu", AHEAD) as emu:
            with KodoClient.for_endpoint(emu.url, AK, SK) as client:
                client.upload.upload_bytes(PRIVATE, "k.txt", b"private", token_ttl=3600 + int(AHEAD))
            make_tree(tmp_path / "src", {"u.txt": "up"})
            m = write_manifest(
                tmp_path, emu.url,
                sync_job("./out", name="down", bucket=PRIVATE, direction="download", private=True,
                         download={"url_ttl": "60s"}),
                sync_job("./src", name="up", upload={"token_ttl": "60s"}))
            res = cli("run", m)
            assert res.code == 0, res.out + res.err
            assert "clock skew" in res.err
            assert (tmp_path / "out" / "k.txt").read_bytes() == b"private"
            assert clock.slack() >= AHEAD
    finally:
        clock.set_slack(0)


def test_without_the_widening_the_same_token_is_refused(tmp_path: Path) -> None:
    """The control: a 60 s URL signed on the local clock is expired for a server 10 min ahead."""
    with skewed(tmp_path / "emu", AHEAD) as emu, KodoClient.for_endpoint(emu.url, AK, SK) as client:
        client.upload.upload_bytes(PRIVATE, "k.txt", b"private", token_ttl=3600 + int(AHEAD))
        url = client.urls.private_object(f"{emu.url}/dl/{PRIVATE}", "k.txt", expires=60)
        assert client.http.session.get(url).status_code == 401
        clock.set_slack(AHEAD)
        try:
            url = client.urls.private_object(f"{emu.url}/dl/{PRIVATE}", "k.txt", expires=60)
            assert client.http.session.get(url).status_code == 200
        finally:
            clock.set_slack(0)
