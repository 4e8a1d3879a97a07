"""Progress lines where there is no terminal (issue 17 part 5), driven by a fake clock."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from kodo_jobs.actions import Action, Outcome
from kodo_jobs.executor.progress_lines import ProgressLines, format_line, human_duration, progress_lines
from tests.e2e.sync_helpers import make_tree, sync_job, write_manifest


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lines(interval: float = 30.0) -> tuple[ProgressLines, io.StringIO, Clock]:
    out, clock = io.StringIO(), Clock()
    return ProgressLines(interval, out=out, clock=clock, thread=False), out, clock


def test_one_line_per_interval_with_totals_rate_eta_and_the_large_file() -> None:
    p, out, clock = _lines()
    p.job_started("site", 4, 400 * 2**20)
    assert not p.tick()  # nothing before the first interval
    big = Action("site", "upload", "media/big.iso", 300 * 2**20)
    p.file_started(Action("site", "upload", "small.txt", 10))
    p.file_started(big)
    p.action_done(Action("site", "upload", "small.txt", 10), Outcome("x", "done"))
    p.progress(100 * 2**20)
    clock.now += 29.9
    assert not p.tick()
    clock.now += 0.1
    assert p.tick()
    assert out.getvalue() == ("progress site: 1/4 files, 100.0 MiB of 400.0 MiB, 3.3 MiB/s, ETA 1m30s, "
                              "now media/big.iso (300.0 MiB)\n")
    clock.now += 10
    assert not p.tick()  # the next line waits a whole interval
    clock.now += 20
    assert p.tick()
    assert out.getvalue().count("\n") == 2


def test_no_line_between_jobs_and_none_after_the_last() -> None:
    p, out, clock = _lines(5)
    p.job_started("a", 1, 10)
    p.job_finished("a")
    clock.now += 60
    assert not p.tick()
    assert out.getvalue() == ""


def test_keys_are_escaped_in_the_line() -> None:
    p, out, clock = _lines(1)
    p.job_started("j\x1b[31m", 1, 10)
    p.file_started(Action("j", "upload", "evil\nprogress forged: 1/1", 5))
    clock.now += 1
    assert p.tick()
    assert out.getvalue().count("\n") == 1 and "\x1b" not in out.getvalue()


def test_json_logs_get_a_progress_event() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    clock = Clock()
    p = ProgressLines(2, emit_event=lambda event, **kw: events.append((event, kw)), clock=clock, thread=False)
    p.job_started("site", 2, 2000)
    p.progress(500)
    clock.now += 2
    assert p.tick()
    ((event, fields),) = events
    assert event == "progress"
    assert fields == {"job": "site", "files_done": 0, "files_total": 2, "bytes_done": 500, "bytes_total": 2000,
                      "rate_bytes_per_second": 250.0, "eta_seconds": 6, "current_key": None, "current_size": None}


def test_off_on_a_terminal_and_with_interval_zero() -> None:
    assert progress_lines(30, "console", tty=True) == []
    assert progress_lines(0, "console", tty=False) == []
    (sub,) = progress_lines(30, "console", tty=False)
    sub.close()


def test_human_duration() -> None:
    assert [human_duration(s) for s in (0, 9, 65, 3725)] == ["0s", "9s", "1m05s", "1h02m05s"]
    assert format_line({"job": "j", "files_done": 0, "files_total": 0, "bytes_done": 0, "bytes_total": 0,
                        "rate_bytes_per_second": 0.0, "eta_seconds": None, "current_key": None,
                        "current_size": None}) == "progress j: 0/0 files, 0 B of 0 B, 0 B/s, ETA -"


def test_a_run_without_a_terminal_prints_progress_lines(tmp_path: Path) -> None:
    """A real run in a subprocess (stderr is a pipe): the emulator answers every request after 2 s,
    so the job executes for longer than several 0.2 s intervals whatever the machine's load."""
    import subprocess
    import sys

    from kodo_jobs.emulator.config import EmulatorConfig
    from kodo_jobs.emulator.server import start_emulator
    from tests.e2e.sync_helpers import AK, BUCKET, SK

    make_tree(tmp_path / "src", {"big.bin": b"x" * 100_000})
    with start_emulator(EmulatorConfig(data_dir=tmp_path / "emu", access_key=AK, secret_key=SK, buckets=(BUCKET,),
                                       latency=2.0)) as emu:
        m = write_manifest(tmp_path, emu.url, sync_job())
        for fmt in ("console", "json"):
            (tmp_path / "src" / "big.bin").write_bytes(fmt.encode() * 50_000)  # a change to upload each time
            r = subprocess.run([sys.executable, "-m", "kodo_jobs", "run", str(m), "--progress-interval", "0.2",
                                "--log-format", fmt], capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            if fmt == "console":
                assert "progress site: 0/1 files" in r.stderr and "now big.bin" in r.stderr, r.stderr
            else:
                events = [json.loads(line) for line in r.stderr.splitlines() if line.startswith("{")]
                progress = [e for e in events if e.get("event") == "progress"]
                assert progress and progress[0]["job"] == "site" and progress[0]["files_total"] == 1, r.stderr
