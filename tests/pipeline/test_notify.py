"""``notify:`` (issue 17 part 6): the run summary POSTed to a webhook, received on loopback.

The receiver is a real HTTP server on 127.0.0.1 that records requests; a "slow" receiver holds
its answer until the test releases it, which shows the notification gives up at its timeout
without the test measuring any time."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from kodo_jobs.manifest.loader import load_text
from kodo_jobs.manifest.notify import Notify, masked_url
from kodo_jobs.pipeline.notify import notify, post, should_notify, summary
from tests.e2e.sync_helpers import cli, make_tree, serve, sync_job, write_manifest
from tests.pipeline.recorder import recording_server

TOKEN = "T0K3N-hook-secret-path"


def _manifest_with_notify(tmp_path: Path, url: str, *, on: str = "failure", source: str = "./src") -> Path:
    m = write_manifest(tmp_path, url, sync_job(source))
    doc = yaml.safe_load(m.read_text())
    doc["env"] = [{"name": "HOOK_URL", "secret": True}]
    doc["notify"] = {"url": "${HOOK_URL}", "on": on, "timeout": "20s"}
    m.write_text(yaml.safe_dump(doc))
    return m


def test_a_failed_run_posts_its_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(tmp_path / "emu") as emu, recording_server() as hook:
        monkeypatch.setenv("HOOK_URL", f"{hook.url}/hooks/{TOKEN}")
        m = _manifest_with_notify(tmp_path, emu.url, source="./missing-folder")
        res = cli("run", m)
    assert res.code == 2, res.err  # the job's own input is invalid
    (req,) = hook.requests
    assert req.method == "POST" and req.path == f"/hooks/{TOKEN}"
    assert req.headers["Content-Type"] == "application/json"
    body = json.loads(req.body)
    assert body["exit_code"] == 2 and body["status"] == "failed" and body["source"] == "kodo-jobs"
    assert body["jobs"][0]["name"] == "site" and body["jobs"][0]["status"] == "failed"
    assert TOKEN not in res.out + res.err


def test_a_successful_run_posts_nothing_on_failure_and_posts_with_always(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(tmp_path / "src", {"a.txt": b"a"})
    with serve(tmp_path / "emu") as emu, recording_server() as hook:
        monkeypatch.setenv("HOOK_URL", f"{hook.url}/hooks/{TOKEN}")
        m = _manifest_with_notify(tmp_path, emu.url)
        assert cli("run", m).code == 0
        assert hook.requests == []
        m = _manifest_with_notify(tmp_path, emu.url, on="always")
        assert cli("run", m).code == 0
    (req,) = hook.requests
    body = json.loads(req.body)
    assert body["exit_code"] == 0 and body["status"] == "ok"


def test_a_lock_held_run_is_not_a_failure_to_notify() -> None:
    assert should_notify("failure", 1) and should_notify("failure", 2)
    assert not should_notify("failure", 0) and not should_notify("failure", 3) and not should_notify("failure", 130)
    assert all(should_notify("always", c) for c in (0, 1, 2, 3, 130))


def test_a_failing_receiver_is_retried_until_it_answers() -> None:
    with recording_server(statuses=(500, 503, 200)) as hook:
        delivery = post(hook.url + "/h", {"x": 1}, timeout=30, attempts=3)
    assert (delivery.outcome, delivery.attempts) == ("ok", 3)
    assert len(hook.requests) == 3


def test_a_refusing_receiver_is_not_retried() -> None:
    with recording_server(statuses=(403,)) as hook:
        delivery = post(hook.url + "/h", {"x": 1}, timeout=30, attempts=3)
    assert (delivery.outcome, delivery.attempts) == ("failed", 1)
    assert "403" in delivery.detail


def test_a_slow_receiver_does_not_hold_the_exit_past_the_timeout() -> None:
    release = threading.Event()
    err = io.StringIO()
    with recording_server(gate=release) as hook:
        config = Notify(url=SecretStr(f"{hook.url}/hooks/{TOKEN}"), timeout=0.5, attempts=1)
        delivery = notify(config, None, 1, "m.yaml", out=err)
        # notify returned while the receiver still holds its answer: it gave up at its timeout
        assert not release.is_set()
        assert len(hook.requests) == 1
        release.set()
    assert delivery is not None and delivery.outcome in ("timeout", "failed")
    assert TOKEN not in err.getvalue() and "/***" in err.getvalue(), err.getvalue()


def test_the_url_is_secret_in_the_manifest(tmp_path: Path) -> None:
    text = ("version: 1\nenv: [{name: HOOK, secret: true}]\ntarget: {embedded: true}\n"
            "notify: {url: '${HOOK}'}\njobs: [{name: t, kind: cdn, refresh_urls: ['https://c.example.com/a']}]\n")
    m = load_text(text, tmp_path / "m.yaml", env={"HOOK": f"https://hooks.example.com/{TOKEN}"})
    assert m.notify is not None
    assert TOKEN not in repr(m.notify) and TOKEN not in m.model_dump_json()
    assert m.notify.on == "failure" and m.notify.timeout == 10.0
    assert masked_url(m.notify.url.get_secret_value()) == "https://hooks.example.com/***"


def test_summary_without_a_report_says_so() -> None:
    body: dict[str, Any] = summary(None, 3, "m.yaml")
    assert body["status"] == "error" and body["exit_code"] == 3
