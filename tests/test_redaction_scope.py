"""Registered secrets belong to one command run (and one test), never to the process."""

from __future__ import annotations

from pathlib import Path

import pytest

from kodo_jobs.log import MASK, Redactor, current_redactor, redact_text, redaction, register_secret

FIRST = "first-run-secret-9c1d"
LEAKY = "registered-in-an-earlier-test-7e2f"

SECRET_ENV = """env:
  - {name: KJ_SCOPE_SK, secret: true}
"""
MANIFEST = """version: 1
%s
target:
  endpoint: http://127.0.0.1:9
  access_key: test-ak
  secret_key: %s
jobs:
  - name: site
    kind: sync
    source: ./%s
    bucket: test-bucket
"""


def _cli(*args: str | Path) -> tuple[int, str]:
    from tests.e2e.sync_helpers import cli

    res = cli(*args)
    return res.code, res.out + res.err


def test_second_in_process_cli_run_is_not_masked_by_the_first_runs_secrets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both runs name a source folder that does not exist and whose name happens to be the
    first run's secret key; only the first run declares it secret."""
    monkeypatch.setenv("KJ_SCOPE_SK", FIRST)
    first = tmp_path / "first.yaml"
    first.write_text(MANIFEST % (SECRET_ENV, '"${KJ_SCOPE_SK}"', FIRST), encoding="utf-8")
    second = tmp_path / "second.yaml"
    second.write_text(MANIFEST % ("", "other-secret-key", FIRST), encoding="utf-8")

    # run 1 declares the secret: its error message masks it
    code, out = _cli("run", first)
    assert code == 2, out
    assert FIRST not in out and MASK in out
    code, out = _cli("plan", first)  # the plan's job note too (it printed the name in full)
    assert code == 2, out
    assert FIRST not in out and MASK in out

    # run 2, same process, declares another secret: the folder name is printed as it is
    code, out = _cli("run", second)
    assert code == 2, out
    assert f"{FIRST}" in out and MASK not in out


def test_a_secret_registered_in_a_test_is_masked_there() -> None:
    register_secret(LEAKY)
    assert redact_text(f"saw {LEAKY}") == f"saw {MASK}"


def test_and_gone_in_the_next_test() -> None:
    """Runs after the test above (file order): its secret went with its redactor."""
    assert redact_text(f"saw {LEAKY}") == f"saw {LEAKY}"


def test_redaction_installs_and_restores() -> None:
    outer = current_redactor()
    register_secret("outer-secret-1234")
    mine = Redactor()
    with redaction(mine) as installed:
        assert installed is mine and current_redactor() is mine
        register_secret("inner-secret-5678")
        assert redact_text("outer-secret-1234 inner-secret-5678") == f"outer-secret-1234 {MASK}"
    assert current_redactor() is outer
    assert redact_text("outer-secret-1234 inner-secret-5678") == f"{MASK} inner-secret-5678"
