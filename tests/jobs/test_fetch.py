"""fetch: URL files, planning with skip_existing, and the qshell-like export files (no network)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.actions import ERROR_OP
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.jobs.exports import ExportFiles
from kodo_jobs.jobs.fetch import KIND
from kodo_jobs.jobs.keys import InputFileError, UrlLine, key_from_url, parse_urls
from kodo_jobs.kodo.errors import BadRequest, ServerError
from kodo_jobs.kodo.fetch import FetchResult
from kodo_jobs.kodo.rs import BatchOp, BatchResult
from kodo_jobs.manifest.spec_fetch import FetchJob


def test_parse_urls_formats() -> None:
    lines = [
        "http://h/a/b%20c.txt\n",
        "https://h/x\tmy/key\n",
        "# comment\n",
        "http://h/y\t\tFhash\n",              # empty key column: derived; a hash for skip_existing
        "http://h/z\tz.txt\t478\tsource failed\n",  # a failure-file line: the code is not a hash
    ]
    assert parse_urls(lines, source="u", key_prefix="p/") == [
        UrlLine(1, "http://h/a/b%20c.txt", "p/a/b c.txt"),
        UrlLine(2, "https://h/x", "my/key"),
        UrlLine(4, "http://h/y", "p/y", "Fhash"),
        UrlLine(5, "http://h/z", "z.txt"),
    ]


def test_parse_urls_errors_are_located() -> None:
    with pytest.raises(InputFileError) as info:
        parse_urls(["ftp://h/a", "http://h/", "not a url"], source="urls.txt")
    assert info.value.problems == [
        "urls.txt:1: not an http(s) URL: 'ftp://h/a'",
        "urls.txt:2: empty key (give one as 'url<TAB>key')",
        "urls.txt:3: not an http(s) URL: 'not a url'",
    ]


def test_key_from_url() -> None:
    assert key_from_url("http://h:8/a/%E4%B8%AD.txt?x=1") == "a/中.txt"


def test_export_files_truncate_once_per_run_and_keep_lines_whole(tmp_path: Path) -> None:
    exports = ExportFiles()
    path = tmp_path / "f.tsv"
    path.write_text("stale\n")
    exports.failure("r1", path, ("http://h/a", "a"), 478, "bad\tsource\nsecond line")
    exports.failure("r1", path, ("http://h/b", "b"), None, "x")
    assert path.read_text().splitlines() == ["http://h/a\ta\t478\tbad source second line", "http://h/b\tb\t0\tx"]
    exports.start("r2", path)
    assert path.read_text() == ""


@dataclass
class FakeRs:
    existing: dict[str, dict[str, Any]] = field(default_factory=dict)

    def batch(self, ops: list[BatchOp]) -> list[BatchResult]:
        return [BatchResult(op, 200, self.existing[op.key]) if op.key in self.existing
                else BatchResult(op, 612, {"error": "no such file"}) for op in ops]

    def chtype(self, *a: Any) -> None:
        pass


@dataclass
class FakeFetch:
    fail: dict[str, Exception] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def fetch(self, url: str, bucket: str, key: str, host: str | None = None) -> FetchResult:
        self.calls.append(url)
        if url in self.fail:
            raise self.fail[url]
        return FetchResult(key, "Fh", 3, "text/plain")


@dataclass
class Client:
    rs: FakeRs = field(default_factory=FakeRs)
    fetch: FakeFetch = field(default_factory=FakeFetch)


def job(**kw: Any) -> FetchJob:
    return FetchJob.model_validate({"name": "imp", "kind": "fetch", "bucket": "media", **kw})


def ctx(spec: FetchJob, client: Client, run_id: str = "r") -> JobContext:
    return JobContext(client=client, spec=spec, state=None, run_id=run_id)  # type: ignore[arg-type]


def test_plan_skip_existing_by_key_and_by_hash(tmp_path: Path) -> None:
    (tmp_path / "u.txt").write_text("http://h/a\nhttp://h/b\tb\tFold\nhttp://h/c\tc\tFsame\nhttp://h/d\n")
    client = Client(FakeRs({"a": {"fsize": 1, "hash": "Fx"}, "b": {"fsize": 1, "hash": "Fnew"},
                            "c": {"fsize": 1, "hash": "Fsame"}}))
    by_key = list(KIND.plan(job(urls_file=str(tmp_path / "u.txt"), skip_existing=True), ctx(job(urls=["http://h/a"]), client)))
    assert [(a.op, a.key) for a in by_key] == [("skip", "a"), ("skip", "b"), ("skip", "c"), ("fetch", "d")]
    by_etag = list(KIND.plan(job(urls_file=str(tmp_path / "u.txt"), skip_existing="etag"),
                             ctx(job(urls=["http://h/a"]), client)))
    assert [(a.op, a.key) for a in by_etag] == [("skip", "a"), ("fetch", "b"), ("skip", "c"), ("fetch", "d")]


def test_two_urls_for_one_key_is_a_located_error() -> None:
    spec = job(urls=["http://h/x/a", "http://other/x/a"])
    actions = list(KIND.plan(spec, ctx(spec, Client())))
    assert [a.op for a in actions] == ["fetch", ERROR_OP]
    assert "urls[2]: key 'x/a' is also the target of line 1" in actions[1].params["message"]


def test_run_writes_success_and_failure_files(tmp_path: Path) -> None:
    ok, bad = tmp_path / "ok.tsv", tmp_path / "bad.tsv"
    spec = job(urls=["http://h/1", "http://h/2", "http://h/3"], success_file=str(ok), failure_file=str(bad),
               retry={"attempts": 2})
    client = Client(fetch=FakeFetch(fail={"http://h/2": BadRequest("source 404", status=478),
                                          "http://h/3": ServerError("busy", status=503)}))
    c = ctx(spec, client, run_id="run-x")
    actions = list(KIND.plan(spec, c))
    first = KIND.run(actions, c)
    assert [o.status for o in first] == ["done", "failed", "pending"]
    second = KIND.run([actions[2]], c)  # the last attempt keeps the code
    assert (second[0].status, second[0].code) == ("failed", 503)
    assert ok.read_text() == "http://h/1\t1\n"
    assert [line.split("\t")[:3] for line in bad.read_text().splitlines()] == [
        ["http://h/2", "2", "478"], ["http://h/3", "3", "503"]]
