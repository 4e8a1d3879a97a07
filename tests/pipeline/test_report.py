"""Report: console summary (quiet when nothing changed), JSON document, exit codes, redaction."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kodo_jobs.log import register_secret
from kodo_jobs.pipeline.report import FailureLine, JobReport, Report


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


def test_payload_and_wire_bytes_per_job_and_run(tmp_path: Path) -> None:
    """Issue 22: the payload (each byte once) and the bytes on the wire (re-sends included)."""
    from kodo_jobs.actions import ByteCount

    mib = 1 << 20
    a = JobReport("big", "sync", "ok", {"upload": {"done": 1, "bytes": 36 * mib, "sent": 36 * mib}},
                  moved=ByteCount(36 * mib, 44 * mib))
    b = JobReport("small", "sync", "ok", {"upload": {"done": 3, "bytes": 300, "sent": 300}},
                  moved=ByteCount(300, 300))
    r = Report("m.yaml", "r1", 100.0, 102.5, "ok", (a, b))
    out = io.StringIO()
    r.render_text(out)
    text = out.getvalue()
    assert "big (sync): ok, 36.0 MiB sent (44.0 MiB on the wire)" in text
    assert "small (sync): ok, 300 B sent, " in text  # no wire figure when nothing was re-sent
    assert text.splitlines()[0].endswith("36.0 MiB sent (44.0 MiB on the wire)")
    doc = r.to_json()
    assert (doc["payload_bytes"], doc["wire_bytes"]) == (36 * mib + 300, 44 * mib + 300)
    assert [(j["payload_bytes"], j["wire_bytes"], j["bytes_sent"]) for j in doc["jobs"]] == [
        (36 * mib, 44 * mib, 36 * mib), (300, 300, 300)]


def test_byte_count_of_an_outcome_that_did_not_measure_the_wire() -> None:
    from kodo_jobs.actions import ByteCount, Outcome

    assert ByteCount.of(Outcome("a", "done", bytes=10)) == ByteCount(10, 10)
    assert ByteCount.of(Outcome("a", "done", bytes=10, wire=25)) == ByteCount(10, 25)
    assert ByteCount(1, 2) + ByteCount(3, 4) == ByteCount(4, 6)
