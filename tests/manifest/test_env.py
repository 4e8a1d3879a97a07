"""Issue 15 item 3: environment expansion is explicit and reviewable.

Only ``target.access_key``/``target.secret_key`` (and the proxy URL) read undeclared variables; every other
``${VAR}`` must be declared in the top-level ``env:`` list, or validate fails naming it at its
``file:line:col`` (exit 2). A declared variable may be ``secret: true``: it then may only fill
fields that are never printed, and its value is masked in every output.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kodo_jobs.cli import cli
from kodo_jobs.manifest import ManifestError, load_text

TOKEN = "ghp_leaky-ci-token-0123456789"
LEAK = """version: 1
target: {embedded: true}
jobs:
  - name: site
    kind: sync
    source: .
    bucket: media
    prefix: "up/${MY_CI_TOKEN}/"
"""
NOT_DECLARED = ("variable MY_CI_TOKEN is not declared: list it under the top-level env: to let it expand "
                "here (only target.access_key, target.secret_key and target.proxy read undeclared variables)")


def _problems(text: str, env: dict[str, str]) -> list[tuple[int, int, str, str]]:
    with pytest.raises(ManifestError) as info:
        load_text(text, env=env)
    return [(p.line, p.col, p.path, p.message) for p in info.value.problems]


def test_undeclared_variable_in_a_prefix_is_a_validate_error(
        tmp_path: Path, run_validate: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_CI_TOKEN", TOKEN)
    manifest = tmp_path / "m.yaml"
    manifest.write_text(LEAK, encoding="utf-8")
    result = run_validate(str(manifest))
    assert result.exit_code == 2
    assert result.stderr == f"{manifest}:8:13: jobs[0].prefix: {NOT_DECLARED}\n"
    assert TOKEN not in result.output


@pytest.mark.parametrize("command", [["plan", "--json"], ["run"], ["plan", "-o", "saved.json"]])
def test_plan_and_run_refuse_before_anything_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    monkeypatch.setenv("MY_CI_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    manifest = tmp_path / "m.yaml"
    manifest.write_text(LEAK, encoding="utf-8")
    result = CliRunner().invoke(cli, [command[0], str(manifest), *command[1:]])
    assert result.exit_code == 2
    assert f"{manifest}:8:13: jobs[0].prefix: {NOT_DECLARED}" in result.stderr
    assert TOKEN not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.yaml"]  # no plan, state or emulator data


def test_a_declared_variable_expands_anywhere() -> None:
    text = LEAK.replace("version: 1\n", "version: 1\nenv: [MY_CI_TOKEN]\n")
    manifest = load_text(text, env={"MY_CI_TOKEN": "2026-12-03"})
    assert manifest.jobs[0].prefix == "up/2026-12-03/"
    assert manifest.secrets == ()


def test_declared_default_and_inline_default() -> None:
    text = ("version: 1\nenv:\n  - {name: STAGE, default: dev}\n  - REGION_TAG\n"
            "target: {embedded: true}\njobs:\n"
            "  - {name: a, kind: sync, source: ., bucket: media, prefix: '${STAGE}/${REGION_TAG:-any}/'}\n")
    assert load_text(text, env={}).jobs[0].prefix == "dev/any/"
    assert load_text(text, env={"STAGE": "prod", "REGION_TAG": "z0"}).jobs[0].prefix == "prod/z0/"


def test_a_declared_variable_that_is_not_set_is_an_error() -> None:
    text = LEAK.replace("version: 1\n", "version: 1\nenv: [MY_CI_TOKEN]\n")
    assert _problems(text, {}) == [(9, 13, "jobs[0].prefix", "environment variable MY_CI_TOKEN is not set "
                                    "(use ${MY_CI_TOKEN:-default} for a default, or '$${' for a literal '${')")]


def test_credentials_read_undeclared_variables() -> None:
    text = ("version: 1\ntarget: {endpoint: 'http://127.0.0.1:9', access_key: '${KJ_AK}', secret_key: '${KJ_SK}'}\n"
            "jobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n")
    manifest = load_text(text, env={"KJ_AK": "ak-value", "KJ_SK": "sk-value"})
    assert manifest.target.secret_key is not None and manifest.target.secret_key.get_secret_value() == "sk-value"


def test_a_secret_may_only_fill_fields_that_are_never_printed() -> None:
    text = ("version: 1\nenv:\n  - {name: DL_KEY, secret: true}\ntarget: {embedded: true}\njobs:\n"
            "  - {name: a, kind: sync, source: ., bucket: media, direction: download,\n"
            "     download: {anti_leech_key: '${DL_KEY}'}, prefix: 'p/${DL_KEY}/'}\n")
    assert _problems(text, {"DL_KEY": "hush-hush-key"}) == [(7, 55, "jobs[0].prefix", (
        "DL_KEY is declared secret: it may only fill access_key, secret_key, anti_leech_key, proxy or notify.url "
        "(fields that are never printed); prefix would show it in plans, reports and the state file"))]
    ok = load_text(text.replace(", prefix: 'p/${DL_KEY}/'", ""), env={"DL_KEY": "hush-hush-key"})
    assert [s.get_secret_value() for s in ok.secrets] == ["hush-hush-key"]
    assert ok.jobs[0].download.anti_leech_key is not None
    assert ok.jobs[0].download.anti_leech_key.get_secret_value() == "hush-hush-key"
    assert "hush-hush-key" not in ok.model_dump_json()


def test_env_entries_are_validated() -> None:
    text = ("version: 1\nenv:\n  - 9LIVES\n  - {name: A, secret: maybe}\n  - {name: B, sekret: true}\n  - A\n"
            "target: {embedded: true}\njobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n")
    found = [(line, path, message) for line, _, path, message in _problems(text, {})]
    assert found == [
        (3, "env[0].name", "must be a variable name (letters, digits and '_', not starting with a digit) (got '9LIVES')"),
        (4, "env[1].secret", "must be true or false (got 'maybe')"),
        (5, "env[2].sekret", "unknown field 'sekret'; did you mean 'secret'?"),
        (6, "env[3]", "A is declared twice (first as env[1])"),
    ]


def test_env_values_and_extension_keys_are_not_expanded() -> None:
    text = ("version: 1\nenv:\n  - {name: A, default: '${NOT_EXPANDED}'}\n"
            "x-notes: 'uses ${ANYTHING}'\ntarget: {embedded: true}\n"
            "jobs: [{name: a, kind: sync, source: ., bucket: media, prefix: '${A}'}]\n")
    assert load_text(text, env={}).jobs[0].prefix == "${NOT_EXPANDED}"


def test_the_proxy_url_may_read_an_undeclared_variable_and_is_masked() -> None:
    text = """version: 1
target: {access_key: ak-123456, secret_key: sk-123456, region: z0, proxy: "${HTTPS_PROXY}"}
jobs:
  - {name: site, kind: sync, source: ., bucket: media}
"""
    manifest = load_text(text, env={"HTTPS_PROXY": "http://user:pw-secret@proxy.internal:3128"})
    assert manifest.target.proxy == "http://user:pw-secret@proxy.internal:3128"
