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
