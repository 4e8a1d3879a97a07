"""``then.cdn_refresh.urls_per_request`` reaches the follow-up CDN job (default 60, bounds 1..100)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from kodo_jobs.jobs import then
from kodo_jobs.manifest.spec_sync import CdnRefreshThen, SyncJob
from tests.fixtures.memory_state import MemoryState


class Ctx:
    def __init__(self) -> None:
        self.state = MemoryState()  # the two StateView calls ``then`` uses, in memory


def _sync(tmp_path: Any, cdn: dict[str, Any]) -> SyncJob:
    return SyncJob.model_validate({"name": "site", "kind": "sync", "source": str(tmp_path), "bucket": "media",
                                   "then": {"cdn_refresh": cdn}})


@pytest.mark.parametrize(("given", "expected"), [({}, 60), ({"urls_per_request": 2}, 2),
                                                 ({"urls_per_request": 100}, 100)])
def test_followup_cdn_job_gets_urls_per_request(tmp_path: Any, given: dict[str, Any], expected: int) -> None:
    spec = _sync(tmp_path, {"base_url": "https://cdn.example.com/", **given})
    jobs = then.followups(spec, [("upload", f"k{i}") for i in range(5)], Ctx())
    assert len(jobs) == 1
    cdn = jobs[0]
    assert cdn.name == "site.then-cdn" and cdn.urls_per_request == expected
    assert len(cdn.refresh_urls) == 5


@pytest.mark.parametrize("bad", [0, 101])
def test_urls_per_request_bounds(bad: int) -> None:
    with pytest.raises(ValidationError):
        CdnRefreshThen.model_validate({"base_url": "https://cdn.example.com/", "urls_per_request": bad})
