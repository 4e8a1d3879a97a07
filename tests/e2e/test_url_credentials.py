"""A password in an endpoint or host URL never reaches the console, the logs, the report or the
state file (issue 15 item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import kodo_jobs

PASSWORD = "s3cretPW"


@pytest.mark.parametrize("target", [
    f"endpoint: http://admin:{PASSWORD}@127.0.0.1:9",
    f"hosts:\n    up: http://admin:{PASSWORD}@127.0.0.1:9\n    rs: http://127.0.0.1:9\n"
    f"    rsf: http://admin:{PASSWORD}@127.0.0.1:9\n    io: http://127.0.0.1:9\n    api: http://127.0.0.1:9",
])
def test_url_password_is_masked_everywhere(tmp_path: Path, target: str) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        f"version: 1\ntarget:\n  {target}\n  access_key: test-ak\n  secret_key: test-sk\n"
        "defaults:\n  retry: {attempts: 1}\n"
        "jobs:\n  - {name: s, kind: sync, source: ./src, bucket: test-bucket}\n", encoding="utf-8")
    report = tmp_path / "r.json"
    outputs = []
    for args in (("validate",), ("plan",), ("plan", "--json"), ("run", "--log-format", "json", "--report", report),
                 ("run",), ("status",)):
        proc = kodo_jobs(args[0], manifest, *args[1:])
        outputs.append((args, proc.returncode, proc.stdout + proc.stderr))
    assert any("127.0.0.1:9" in text for _, _, text in outputs), outputs  # the URL is shown, its password not
    for args, _, text in outputs:
        assert PASSWORD not in text, (args, text)
    assert report.exists() and PASSWORD not in report.read_text()
    for state in tmp_path.glob("m.kjstate*"):
        assert PASSWORD.encode() not in state.read_bytes(), state


@pytest.mark.parametrize(("text", "masked"), [
    ("GET http://admin:pw@host:80/list?x=1", "GET http://***@host:80/list?x=1"),
    ("https://TOKEN@example.com/a", "https://***@example.com/a"),
    ("socks5h://u:p%40ss@proxy:1080", "socks5h://***@proxy:1080"),
    ("see http://host/path?mail=a@b.c and mailto:x@y", "see http://host/path?mail=a@b.c and mailto:x@y"),
    ("two: http://a:b@h1/ https://c:d@h2", "two: http://***@h1/ https://***@h2"),
])
def test_mask_url_credentials(text: str, masked: str) -> None:
    from kodo_jobs.log import mask_url_credentials

    assert mask_url_credentials(text) == masked
