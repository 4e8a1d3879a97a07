"""Clock skew: the run compares the server's ``Date`` with the local clock, warns above a minute
and widens signed deadlines, so short-lived tokens still work against a server 10 minutes ahead."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

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
        widened = re.search(r"deadlines widened by (\d+)s", res.err)
        assert widened is not None and int(widened.group(1)) >= AHEAD  # the run's client slack


def test_without_the_widening_the_same_token_is_refused(tmp_path: Path) -> None:
    """The control: a 60 s URL signed on the local clock is expired for a server 10 min ahead."""
    with skewed(tmp_path / "emu", AHEAD) as emu, KodoClient.for_endpoint(emu.url, AK, SK) as client:
        client.upload.upload_bytes(PRIVATE, "k.txt", b"private", token_ttl=3600 + int(AHEAD))
        url = client.urls.private_object(f"{emu.url}/dl/{PRIVATE}", "k.txt", expires=60)
        assert client.http.session.get(url).status_code == 401
        client.slack.set(AHEAD)
        url = client.urls.private_object(f"{emu.url}/dl/{PRIVATE}", "k.txt", expires=60)
        assert client.http.session.get(url).status_code == 200


def test_two_clients_in_one_process_do_not_share_the_slack(tmp_path: Path) -> None:
    """The slack is the client's: widening one client's deadlines leaves another's as signed."""
    with skewed(tmp_path / "emu", AHEAD) as emu, KodoClient.for_endpoint(emu.url, AK, SK) as skewed_client, \
            KodoClient.for_endpoint(emu.url, AK, SK) as plain_client:
        skewed_client.upload.upload_bytes(PRIVATE, "k.txt", b"private", token_ttl=3600 + int(AHEAD))
        skewed_client.slack.set(AHEAD)
        assert plain_client.slack.seconds == 0
        wide = skewed_client.urls.private_object(f"{emu.url}/dl/{PRIVATE}", "k.txt", expires=60)
        narrow = plain_client.urls.private_object(f"{emu.url}/dl/{PRIVATE}", "k.txt", expires=60)
        assert skewed_client.http.session.get(wide).status_code == 200
        assert plain_client.http.session.get(narrow).status_code == 401
        # upload tokens: the deadline in the policy carries the owning client's slack only
        wide_deadline = _deadline(skewed_client.upload.token(PRIVATE, "k.txt", ttl=60))
        narrow_deadline = _deadline(plain_client.upload.token(PRIVATE, "k.txt", ttl=60))
        assert wide_deadline - narrow_deadline >= AHEAD


def _deadline(token: str) -> int:
    encoded = token.split(":")[2]
    return int(json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))["deadline"])


def test_the_measured_skew_is_in_the_report_and_the_json_log(tmp_path: Path) -> None:
    with skewed(tmp_path / "emu", AHEAD) as emu:
        make_tree(tmp_path / "src", {"u.txt": "up"})
        m = write_manifest(tmp_path, emu.url, sync_job("./src", name="up", upload={"token_ttl": "2h"}))
        report = tmp_path / "report.json"
        res = cli("run", m, "--report", report, "--log-format", "json")
    assert res.code == 0, res.out + res.err
    got = json.loads(report.read_text())["clock"]
    assert abs(got["skew_seconds"] - AHEAD) < 3 and got["x_qiniu_date"] is True
    lines = [json.loads(line) for line in res.err.splitlines() if line.startswith("{")]
    measured = [line for line in lines if line.get("event") == "clock skew measured"]
    assert len(measured) == 1 and abs(measured[0]["skew_seconds"] - AHEAD) < 3


def _sent_dates(client: KodoClient, bucket: str = "test-bucket") -> list[str | None]:
    seen: list[str | None] = []
    client.http.session.hooks["response"].append(
        lambda resp, *a, **k: seen.append(resp.request.headers.get("X-Qiniu-Date")))
    client.rsf.page(bucket, limit=1)
    return seen


@pytest.mark.parametrize(("sign_date", "env", "sent"), [
    (None, None, True), (None, "true", False), (None, "TRUE", False), (None, "no", True),
    (False, None, False), (True, "true", True),
])
def test_x_qiniu_date_switch(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, sign_date: bool | None,
                             env: str | None, sent: bool) -> None:
    if env is None:
        monkeypatch.delenv("DISABLE_QINIU_TIMESTAMP_SIGNATURE", raising=False)
    else:
        monkeypatch.setenv("DISABLE_QINIU_TIMESTAMP_SIGNATURE", env)
    with KodoClient.for_endpoint(emulator.url, "test-ak", "test-sk", sign_date=sign_date) as client:
        dates = _sent_dates(client)
        assert client.sign_date is sent
    assert len(dates) == 1 and (dates[0] is not None) is sent


def test_manifest_sign_date_false_reaches_the_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kodo_jobs.manifest import load
    from kodo_jobs.pipeline.targets import open_target

    monkeypatch.delenv("DISABLE_QINIU_TIMESTAMP_SIGNATURE", raising=False)
    m = write_manifest(tmp_path, "http://127.0.0.1:9", sync_job("./src"))
    text = m.read_text().replace("  secret_key: test-sk\n", "  secret_key: test-sk\n  sign_date: false\n")
    m.write_text(text)
    manifest = load(m)
    assert manifest.target.sign_date is False
    with open_target(manifest.target, tmp_path) as client:
        assert client.sign_date is False


def test_refused_credentials_on_a_skewed_machine_name_the_clock(tmp_path: Path) -> None:
    """The run-fatal 401 line reads the run's client slack: a skewed clock is named as a cause."""
    with skewed(tmp_path / "emu", AHEAD) as emu:
        make_tree(tmp_path / "src", {"u.txt": "up"})
        m = write_manifest(tmp_path, emu.url, sync_job("./src", name="up"))
        m.write_text(m.read_text().replace(f"secret_key: {SK}", "secret_key: not-the-secret-key"))
        res = cli("run", m)
    assert res.code == 1, res.out + res.err
    assert "refused the credentials" in res.out + res.err
    hint = re.search(r"this machine's clock is (\d+)s off the server's", res.out + res.err)
    assert hint is not None and int(hint.group(1)) >= AHEAD, res.out + res.err
