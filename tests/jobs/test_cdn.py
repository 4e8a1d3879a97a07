"""cdn: chunking under per-request limits and the daily quota book (pure)."""

from __future__ import annotations

import pytest

from kodo_jobs.jobs.quota import QuotaBook, QuotaBooks, chunked
from tests.fixtures.memory_state import MemoryState


@pytest.mark.parametrize(("n", "size", "lengths"), [(250, 60, [60, 60, 60, 60, 10]), (0, 5, []), (5, 5, [5]), (6, 5, [5, 1])])
def test_chunked(n: int, size: int, lengths: list[int]) -> None:
    items = list(range(n))
    chunks = list(chunked(items, size))
    assert [len(c) for c in chunks] == lengths
    assert [x for c in chunks for x in c] == items


def test_chunked_refuses_zero() -> None:
    with pytest.raises(ValueError):
        list(chunked([1], 0))


def test_quota_learnt_from_answers_limits_the_next_request() -> None:
    book = QuotaBook()
    assert book.allowance("refresh", 60) == 60  # unknown yet: send the chunk
    book.record_answer("refresh", {"code": 200, "urlQuotaDay": 100, "urlSurplusDay": 40}, sent=60)
    assert book.allowance("refresh", 60) == 40
    assert book.allowance("refresh_dir", 10) == 10  # other quotas untouched
    book.record_answer("refresh", {"code": 200, "urlSurplusDay": 0}, sent=40)
    assert book.allowance("refresh", 1) == 0
    assert "URL refresh quota of 100 is used up" in book.message("refresh")


def test_prefetch_fields_and_countdown_without_fields() -> None:
    book = QuotaBook()
    book.record_answer("prefetch", {"quotaDay": 10, "surplusDay": 3}, sent=1)
    book.record_answer("prefetch", {}, sent=2)  # an answer without the fields: count down
    assert book.left("prefetch") == 1
    book.mark_exhausted("prefetch")
    assert book.allowance("prefetch", 5) == 0


def test_books_are_per_run() -> None:
    books = QuotaBooks()
    books.get("r1").mark_exhausted("refresh")
    assert books.get("r1").allowance("refresh", 1) == 0
    assert books.get("r2").allowance("refresh", 1) == 1


# -- the kind against a fake fusion API that enforces limits and quotas ---------------------------

import datetime as dt  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from kodo_jobs.jobs.base import JobContext  # noqa: E402
from kodo_jobs.jobs.cdn import KIND  # noqa: E402
from kodo_jobs.kodo.cdn import LogFile, PrefetchResult, RefreshResult, TrafficData  # noqa: E402
from kodo_jobs.kodo.errors import QuotaExceeded, ServerError  # noqa: E402
from kodo_jobs.manifest.spec_cdn import CdnJob  # noqa: E402


@dataclass
class FakeCdn:
    url_quota: int = 500
    per_request: int = 60
    used: int = 0
    requests: list[int] = field(default_factory=list)
    fail_next: int = 0
    downloads: list[str] = field(default_factory=list)

    def refresh(self, urls: Any = (), dirs: Any = ()) -> RefreshResult:
        n = len(urls) + len(dirs)
        self.requests.append(n)
        if self.fail_next:
            self.fail_next -= 1
            raise ServerError("boom", status=503)
        if n > self.per_request or self.used + n > self.url_quota:
            raise QuotaExceeded("refresh url limit", code=400034)
        self.used += n
        bad = tuple(u for u in urls if "invalid" in u)
        return RefreshResult(request_id="req", task_ids={u: f"t-{u}" for u in urls}, invalid_urls=bad,
                             invalid_dirs=(), url_quota_day=self.url_quota,
                             url_surplus_day=self.url_quota - self.used, dir_quota_day=10, dir_surplus_day=10)

    def prefetch(self, urls: Any) -> PrefetchResult:
        self.requests.append(len(urls))
        return PrefetchResult(request_id="req", task_ids={}, invalid_urls=(), quota_day=100, surplus_day=50)

    def flux(self, domains: Any, start: str, end: str, granularity: str = "day", data_type: Any = None) -> TrafficData:
        return TrafficData(time=("2024-01-01 00:00:00", "2024-01-02 00:00:00"),
                           data={d: {"china": (1.0, 2.0), "oversea": (0.0, 0.5)} for d in domains})

    bandwidth = flux

    def log_list(self, domains: Any, day: str) -> dict[str, list[LogFile]]:
        return {d: [LogFile(name=f"{d}_{day}_{h}.gz", size=3, mtime=0, url=f"http://127.0.0.1/{d}/{h}?token=x")
                    for h in ("00", "08")] for d in domains}

    def download_log(self, log: LogFile) -> bytes:
        self.downloads.append(log.name)
        return b"abc"


@dataclass
class Client:
    cdn: FakeCdn = field(default_factory=FakeCdn)


def cdn_job(**kw: Any) -> CdnJob:
    return CdnJob.model_validate({"name": "purge", "kind": "cdn", **kw})


def run_job(spec: CdnJob, client: Client, run_id: str, state: MemoryState | None = None) -> dict[str, Any]:
    ctx = JobContext(client=client, spec=spec, state=state or MemoryState(), run_id=run_id)  # type: ignore[arg-type]
    actions = list(KIND.plan(spec, ctx))
    todo = [a for a in actions if a.op not in ("skip", "same")]
    outcomes = []
    for start in range(0, len(todo), KIND.batch_size):  # as the runner hands them over
        outcomes += KIND.run(todo[start:start + KIND.batch_size], ctx)
    return {"actions": actions, "outcomes": {o.action_id.split("\x1f")[-1]: o for o in outcomes}}


URLS = [f"https://cdn.example.com/f/{i}.html" for i in range(250)]


def test_250_urls_are_split_under_the_per_request_limit() -> None:
    client = Client()
    got = run_job(cdn_job(refresh_urls=URLS), client, "a")
    assert client.cdn.requests == [60, 40, 60, 40, 50]  # runner hands 100 at a time; each split to <= 60
    assert all(o.status == "done" for o in got["outcomes"].values())
    assert got["outcomes"][URLS[0]].result == {"request_id": "req", "task_id": f"t-{URLS[0]}"}


def test_lower_real_limit_is_found_by_halving() -> None:
    client = Client(FakeCdn(per_request=20))
    got = run_job(cdn_job(refresh_urls=URLS[:60]), client, "b")
    assert all(o.status == "done" for o in got["outcomes"].values())
    assert sum(n for n in client.cdn.requests if n <= 20) == 60


def test_quota_exhaustion_fails_the_rest_without_more_requests() -> None:
    client = Client(FakeCdn(url_quota=130))
    got = run_job(cdn_job(refresh_urls=URLS), client, "c")
    statuses = [got["outcomes"][u].status for u in URLS]
    assert statuses.count("done") == 130 and statuses[:130] == ["done"] * 130
    failed = [got["outcomes"][u] for u in URLS[130:]]
    assert {o.code for o in failed} == {400034}
    assert "URL refresh quota of 130 is used up" in failed[0].message
    assert sum(client.cdn.requests) - 130 <= 60  # at most one refused request's worth after that
    assert len(client.cdn.requests) <= 6


def test_invalid_urls_and_retryable_errors() -> None:
    client = Client(FakeCdn(fail_next=1))
    spec = cdn_job(refresh_urls=["https://cdn.example.com/ok", "https://cdn.example.com/invalid"])
    first = run_job(spec, client, "d")["outcomes"]
    assert {o.status for o in first.values()} == {"pending"}
    second = run_job(spec, client, "d")["outcomes"]
    assert second["https://cdn.example.com/ok"].status == "done"
    assert (second["https://cdn.example.com/invalid"].status, second["https://cdn.example.com/invalid"].code) == (
        "failed", 400031)


def test_report_csv_json_and_logs_skip_downloaded(tmp_path: Path) -> None:
    client = Client()
    report = {"domains": ["a.example.com", "b.example.com"], "start": "2024-01-01", "end": "2024-01-02",
              "bandwidth": True, "out": str(tmp_path / "traffic.csv"), "logs_day": "2024-01-01",
              "logs_dir": str(tmp_path / "logs")}
    got = run_job(cdn_job(report=report), client, "e")
    assert [a.op for a in got["actions"]] == ["report"] + ["log"] * 4
    lines = (tmp_path / "traffic.csv").read_text().splitlines()
    assert lines[0] == "metric,domain,area,time,value"
    assert len(lines) == 1 + 2 * 2 * 2 * 2  # metrics x domains x areas x points
    assert "flux,a.example.com,china,2024-01-01 00:00:00,1.0" in lines
    assert sorted(p.name for p in (tmp_path / "logs").rglob("*.gz")) == sorted(client.cdn.downloads)
    again = run_job(cdn_job(report={**report, "format": "json", "out": str(tmp_path / "t.json")}), client, "f")
    assert [a.op for a in again["actions"]] == ["report"] + ["skip"] * 4
    assert len(client.cdn.downloads) == 4
    import json

    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["flux"]["data"]["b.example.com"]["oversea"] == [0.0, 0.5]
    assert dt.date.fromisoformat(doc["start"]) == dt.date(2024, 1, 1)


def test_a_standalone_job_sends_once_per_spec_and_again_when_it_changes() -> None:
    client, state = Client(), MemoryState()
    spec = cdn_job(refresh_urls=URLS[:2], prefetch_urls=[URLS[2]])
    first = run_job(spec, client, "o1", state)
    assert [a.op for a in first["actions"]] == ["refresh", "refresh", "prefetch"]
    again = run_job(spec, client, "o2", state)
    assert [a.op for a in again["actions"]] == ["skip"] * 3
    assert client.cdn.requests == [2, 1]  # nothing sent by the rerun
    changed = run_job(cdn_job(refresh_urls=URLS[:3], prefetch_urls=[URLS[2]]), client, "o3", state)
    assert [a.op for a in changed["actions"]] == ["refresh"] * 3 + ["prefetch"]  # the whole job again
    every = run_job(cdn_job(refresh_urls=URLS[:3], prefetch_urls=[URLS[2]], every_run=True), client, "o4", state)
    assert [a.op for a in every["actions"]] == ["refresh"] * 3 + ["prefetch"]


def test_a_then_follow_up_and_a_refused_url_are_never_recorded() -> None:
    client, state = Client(), MemoryState()
    urls = [URLS[0], "https://cdn.example.com/invalid.html"]  # the fake answers the second as invalid
    follow = CdnJob.model_validate({"name": "site.then-cdn", "kind": "cdn", "refresh_urls": urls})
    run_job(follow, client, "t1", state)
    assert [a.op for a in run_job(follow, client, "t2", state)["actions"]] == ["refresh", "refresh"]
    spec = cdn_job(refresh_urls=urls)
    run_job(spec, client, "t3", state)
    assert [a.op for a in run_job(spec, client, "t4", state)["actions"]] == ["skip", "refresh"]


def test_a_finished_report_is_written_once_a_current_one_every_run(tmp_path: Path) -> None:
    client, state = Client(), MemoryState()
    today = dt.datetime.now(dt.UTC).date()
    past = {"domains": ["a.example.com"], "start": "2024-01-01", "end": "2024-01-02", "out": str(tmp_path / "p.csv")}
    assert [a.op for a in run_job(cdn_job(report=past), client, "r1", state)["actions"]] == ["report"]
    assert [a.op for a in run_job(cdn_job(report=past), client, "r2", state)["actions"]] == ["skip"]
    (tmp_path / "p.csv").unlink()
    assert [a.op for a in run_job(cdn_job(report=past), client, "r3", state)["actions"]] == ["report"]
    current = {**past, "end": today.isoformat(), "out": str(tmp_path / "c.csv")}
    run_job(cdn_job(report=current), client, "r4", state)
    assert [a.op for a in run_job(cdn_job(report=current), client, "r5", state)["actions"]] == ["report"]
