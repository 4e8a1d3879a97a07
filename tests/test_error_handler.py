"""The boundary: a database error is exit 2 (damaged input), never an internal error."""

from __future__ import annotations

import sqlite3

import pytest

from kodo_jobs.error_handler import boundary


def _raise(exc: Exception) -> int:
    raise exc


def test_a_stray_database_error_is_exit_2_not_an_internal_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert boundary(lambda: _raise(sqlite3.DatabaseError("file is not a database"))) == 2
    err = capsys.readouterr().err
    assert "file is not a database" in err and "internal error" not in err


def test_other_exceptions_stay_internal_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert boundary(lambda: _raise(RuntimeError("boom"))) == 1
    assert "internal error: RuntimeError: boom" in capsys.readouterr().err


def test_after_sees_the_exit_code_however_the_command_ended(capsys: pytest.CaptureFixture[str]) -> None:
    from kodo_jobs.errors import UsageError
    from kodo_jobs.log import register_secret

    seen: list[int] = []
    assert boundary(lambda: 0, after=seen.append) == 0
    assert boundary(lambda: _raise(UsageError("bad")), after=seen.append) == 2
    assert boundary(lambda: _raise(KeyboardInterrupt()), after=seen.append) == 130  # type: ignore[arg-type]
    assert seen == [0, 2, 130]

    def after(code: int) -> None:  # runs in the command's redaction scope; its failure keeps the code
        raise RuntimeError("push failed for hunter2-secret")

    def command() -> int:
        register_secret("hunter2-secret")
        return 1

    assert boundary(command, after=after) == 1
    err = capsys.readouterr().err
    assert "push failed for ***" in err and "hunter2-secret" not in err
