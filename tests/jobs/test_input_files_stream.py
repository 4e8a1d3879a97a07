"""Issue 15 item 10: keys files and URL files are streamed, and every problem has its line.

* Reading is lazy: planning a 100k-line file holds a few lines at a time, not the file (peak of
  Python allocations measured with tracemalloc, which counts exactly what the code allocates
  and does not depend on the machine's load).
* Invalid UTF-8 is reported with its line number (and the valid lines around it are fine).
* A URL file that is also the job's failure file (retrying the failures) is read completely
  before the run rewrites it.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.actions import ERROR_OP
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.jobs.batch import KIND as BATCH
from kodo_jobs.jobs.fetch import KIND as FETCH
from kodo_jobs.jobs.keys import InputFileError, read_keys_file, read_urls_file
from kodo_jobs.kodo.rs import BatchOp, BatchResult
from kodo_jobs.manifest import BatchJob, FetchJob

LINES = 100_000


def _write(path: Path, line: Callable[[int], str], count: int = LINES) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for i in range(count):
            f.write(line(i))
    return path


def _peak(consume: Callable[[], int]) -> tuple[int, int]:
    """(result, peak bytes of Python allocations) while ``consume`` runs."""
    tracemalloc.start()
    try:
        result = consume()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@dataclass
class _Rs:
    existing: dict[str, dict[str, Any]] = field(default_factory=dict)

    def batch(self, ops: list[BatchOp]) -> list[BatchResult]:
        return [BatchResult(op, 200, self.existing[op.key]) if op.key in self.existing
                else BatchResult(op, 612, {"error": "no such file"}) for op in ops]


@dataclass
class _Client:
    rs: _Rs = field(default_factory=_Rs)


def _ctx(spec: Any, run_id: str = "") -> JobContext:
    return JobContext(client=_Client(), spec=spec, state=None, run_id=run_id)  # type: ignore[arg-type]


def _count(items: Iterator[Any]) -> int:
    return sum(1 for _ in items)


def test_keys_file_is_streamed(tmp_path: Path) -> None:
    path = _write(tmp_path / "keys.txt", lambda i: f"photos/2026/12/{i:08d}-holiday-picture.jpg\n")
    assert path.stat().st_size > 4_000_000
    count, peak = _peak(lambda: _count(read_keys_file(path, pairs=False)))
    assert count == LINES
    assert peak < 1_000_000, f"reading {LINES} lines held {peak} bytes at once"


def test_batch_plan_over_a_keys_file_is_streamed(tmp_path: Path) -> None:
    path = _write(tmp_path / "keys.txt", lambda i: f"photos/2026/12/{i:08d}-holiday-picture.jpg\n")
    spec = BatchJob.model_validate({"name": "b", "kind": "batch", "bucket": "media", "keys_file": str(path),
                                    "op": {"stat": {}}})
    count, peak = _peak(lambda: _count(BATCH.plan(spec, _ctx(spec))))
    assert count == LINES
    assert peak < 2_000_000, f"planning {LINES} keys held {peak} bytes at once"


def test_fetch_plan_over_a_urls_file_is_streamed(tmp_path: Path) -> None:
    path = _write(tmp_path / "urls.txt", lambda i: f"http://origin.example.com/media/{i:08d}/original.jpg\n")
    spec = FetchJob.model_validate({"name": "f", "kind": "fetch", "bucket": "media", "urls_file": str(path),
                                    "skip_existing": True})
    count, peak = _peak(lambda: _count(FETCH.plan(spec, _ctx(spec))))
    assert count == LINES
    # an 8-byte digest per line (for duplicate keys) is all that grows with the file
    assert peak < 8 * LINES + 3_000_000, f"planning {LINES} URLs held {peak} bytes at once"


def test_fetch_duplicates_are_still_found_when_streaming(tmp_path: Path) -> None:
    path = tmp_path / "urls.txt"
    path.write_text("http://h/a\nhttp://h/b\nhttp://other/a\nhttp://h/c\thttp-c\nhttp://x/y\tb\n", encoding="utf-8")
    spec = FetchJob.model_validate({"name": "f", "kind": "fetch", "bucket": "media", "urls_file": str(path)})
    actions = list(FETCH.plan(spec, _ctx(spec)))
    assert [(a.op, a.key) for a in actions] == [
        ("fetch", "a"), ("fetch", "b"), ("fetch", "http-c"), (ERROR_OP, "a (http://other/a)"), (ERROR_OP, "b (http://x/y)")]
    assert actions[3].params["message"] == f"{path}:3: key 'a' is also the target of line 1"
    assert actions[4].params["message"] == f"{path}:5: key 'b' is also the target of line 2"


@pytest.mark.parametrize("reader", ["keys", "urls"])
def test_invalid_utf8_is_reported_with_its_line(tmp_path: Path, reader: str) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"http://h/ok\nhttp://h/fine\nhttp://h/caf\xe9\nhttp://h/also-ok\nhttp://h/\xff\xfe\n")
    with pytest.raises(InputFileError) as info:
        list(read_keys_file(path, pairs=False) if reader == "keys" else read_urls_file(path))
    assert info.value.problems == [
        f"{path}:3: not UTF-8 text (byte 0xe9 at column 13)",
        f"{path}:5: not UTF-8 text (byte 0xff at column 10)",
    ]


def test_a_missing_file_is_reported_when_read(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as info:
        list(read_keys_file(tmp_path / "nope.txt", pairs=False))
    assert info.value.problems == [f"{tmp_path / 'nope.txt'}: file not found"]


def test_an_overlong_line_is_an_error_not_a_memory_spike(tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    path.write_bytes(b"ok\n" + b"x" * 5_000_000 + b"\nfine\n")
    problems: list[str] = []

    def consume() -> int:
        try:
            return _count(read_keys_file(path, pairs=False))
        except InputFileError as exc:
            problems.extend(exc.problems)
            return -1

    result, peak = _peak(consume)
    assert result == -1
    assert problems == [f"{path}:2: line longer than 65536 bytes"]
    assert peak < 1_000_000


def test_urls_file_that_is_the_failure_file_is_read_before_it_is_rewritten(tmp_path: Path) -> None:
    failures = tmp_path / "failed.tsv"
    failures.write_text("http://h/1\t1\t478\tsource failed\nhttp://h/2\t2\t503\tbusy\n", encoding="utf-8")
    spec = FetchJob.model_validate({"name": "f", "kind": "fetch", "bucket": "media", "urls_file": str(failures),
                                    "failure_file": str(failures)})
    actions = list(FETCH.plan(spec, _ctx(spec, run_id="run-1")))
    assert [(a.op, a.key) for a in actions] == [("fetch", "1"), ("fetch", "2")]
    assert failures.read_text(encoding="utf-8") == ""  # rewritten for this run, after it was read
