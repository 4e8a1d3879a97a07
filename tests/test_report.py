"""Report: console summary (quiet when nothing changed), JSON document, exit codes, redaction."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kodo_jobs.log import register_secret
from kodo_jobs.report import FailureLine, JobReport, Report


def _report(status: str = "ok", counts: dict[str, dict[str, int]] | None = None,
            failures: tuple[FailureLine, ...] = ()) -> Report:
    job = JobReport("site", "sync", "failed" if failures else "ok",
                    counts if counts is not None else {"same": {"skipped": 7, "bytes": 70, "sent": 0}},
                    duration=1.0, failures=failures, failures_total=len(failures))
    return Report("m.yaml", "r1", 100.0, 102.5, status, (job,))  # type: ignore[arg-type]


def test_quiet_when_nothing_changed() -> None:
    out = io.StringIO()
    _report().render_text(out)
    assert out.getvalue().count("\n") == 1 and "nothing to do (7 up to date" in out.getvalue()


def test_loud_with_failures_and_exit_codes() -> None:
    f = FailureLine("upload", "a.txt", 403, "REQ1", "forbidden")
    r = _report("failed", {"upload": {"done": 2, "failed": 1, "bytes": 30, "sent": 20}}, (f,))
    out = io.StringIO()
    r.render_text(out)
    text = out.getvalue()
    assert "FAILED upload a.txt: forbidden code=403 reqid=REQ1" in text and "done 2, failed 1" in text
    assert r.exit_code == 1


@pytest.mark.parametrize(("status", "code"), [("ok", 0), ("failed", 1), ("aborted", 1), ("interrupted", 130),
                                              ("dry-run", 0)])
def test_exit_code(status: str, code: int) -> None:
    assert _report(status).exit_code == code


def test_json_written_atomically_and_redacted(tmp_path: Path) -> None:
    register_secret("sekret-value-123")
    f = FailureLine("upload", "a.txt", 401, "R", "bad token sekret-value-123 for url ?token=abc:def")
    r = _report("failed", {"upload": {"failed": 1, "bytes": 1, "sent": 0}}, (f,))
    path = tmp_path / "out" / "report.json"
    r.write_json(path)
    doc = json.loads(path.read_text())
    assert doc["exit_code"] == 1 and doc["jobs"][0]["bytes_sent"] == 0
    assert doc["jobs"][0]["failures"][0]["code"] == 401
    assert "sekret-value-123" not in path.read_text() and "abc:def" not in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]
