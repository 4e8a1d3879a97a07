"""Every command's ``--help`` explains every option and lists the exit codes."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from kodo_jobs.cli import cli

COMMANDS = sorted(cli.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_a_description(name: str) -> None:
    command = cli.commands[name]  # type: ignore[attr-defined]
    missing = [p.name for p in command.params
               if isinstance(p, click.Option) and not (p.help or "").strip()]
    assert missing == [], f"`kodo-jobs {name}` options without help text: {missing}"


@pytest.mark.parametrize("name", [*COMMANDS, None])
def test_help_lists_the_exit_codes(name: str | None) -> None:
    args = [name, "--help"] if name else ["--help"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0
    for code in ("0 ", "1 ", "2 ", "3 ", "4 ", "130 "):
        assert f"\n    {code}" in result.output, (name, code, result.output)
