"""pfop: saveas templating (pure)."""

from __future__ import annotations

import base64

import pytest

from kodo_jobs.jobs.saveas import encode_entry, expand_fop, expand_fops, key_vars, unknown_variables
from tests.fixtures.memory_state import MemoryState


def _decode(entry: str) -> str:
    return base64.urlsafe_b64decode(entry).decode()


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("video/a/clip.mp4", {"dir": "video/a/", "fname": "clip.mp4", "stem": "clip", "ext": ".mp4"}),
        ("clip.tar.gz", {"dir": "", "fname": "clip.tar.gz", "stem": "clip.tar", "ext": ".gz"}),
        ("a/.hidden", {"dir": "a/", "fname": ".hidden", "stem": ".hidden", "ext": ""}),
        ("noext", {"dir": "", "fname": "noext", "stem": "noext", "ext": ""}),
        ("dir/", {"dir": "dir/", "fname": "", "stem": "", "ext": ""}),
    ],
)
def test_key_vars(key: str, expected: dict[str, str]) -> None:
    got = key_vars("media", key)
    assert got["bucket"] == "media" and got["key"] == key
    assert {k: got[k] for k in expected} == expected


def test_saveas_plain_entry_is_templated_and_encoded() -> None:
    out = expand_fop("avthumb/mp4/s/640x360|saveas/$(bucket):$(dir)$(stem).360p$(ext)", "media", "v/x/clip.mp4")
    head, target = out.fop.split("|saveas/")
    assert head == "avthumb/mp4/s/640x360"
    assert _decode(target) == "media:v/x/clip.360p.mp4"
    assert out.outputs == (("media", "v/x/clip.360p.mp4"),)


def test_delete_after_days_stays_outside_the_entry() -> None:
    out = expand_fop("vframe/jpg/offset/1|saveas/thumbs:$(key).jpg/deleteAfterDays/7", "media", "a.mp4")
    target = out.fop.split("|saveas/")[1]
    entry, tail = target.split("/deleteAfterDays/")
    assert _decode(entry) == "thumbs:a.mp4.jpg" and tail == "7"
    assert out.outputs == (("thumbs", "a.mp4.jpg"),)


def test_already_encoded_target_is_sent_unchanged() -> None:
    encoded = encode_entry("b", "k.jpg")
    out = expand_fop(f"vframe/jpg|saveas/{encoded}", "media", "a.mp4")
    assert out.fop == f"vframe/jpg|saveas/{encoded}"
    assert out.outputs == ()


def test_several_fops_are_joined_with_semicolons() -> None:
    out = expand_fops(["avinfo", "vframe/jpg|saveas/$(bucket):$(stem).jpg"], "m", "d/c.mp4")
    first, second = out.fop.split(";")
    assert first == "avinfo"
    assert _decode(second.split("|saveas/")[1]) == "m:c.jpg"
    assert out.outputs == (("m", "c.jpg"),)


def test_unknown_variable_is_refused_with_the_known_ones() -> None:
    assert unknown_variables("x|saveas/$(bucket):$(name).jpg") == ["name"]
    with pytest.raises(ValueError, match=r"unknown variable \$\(name\).*\$\(stem\)"):
        expand_fop("x|saveas/$(bucket):$(name).jpg", "m", "k")


def test_bucket_only_target() -> None:
    out = expand_fop("avinfo|saveas/$(bucket)", "media", "k")
    assert _decode(out.fop.split("|saveas/")[1]) == "media"
    assert out.outputs == ()


# -- the kind, against a recording fake client and an in-memory state ---------------------------

from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from kodo_jobs.jobs.base import JobContext  # noqa: E402
from kodo_jobs.jobs.pfop import KIND  # noqa: E402
from kodo_jobs.kodo.fop import PfopItem, PfopStatus  # noqa: E402
from kodo_jobs.manifest.spec_pfop import PfopJob  # noqa: E402


@dataclass
class FakeFop:
    polls_until_done: int = 1
    fail_keys: set[str] = field(default_factory=set)
    submitted: list[tuple[str, str]] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)

    def pfop(self, bucket: str, key: str, fops: list[str] | None = None, **kw: Any) -> str:
        pid = f"z0.{len(self.submitted)}"
        self.submitted.append((key, (fops or [""])[0]))
        return pid

    def status(self, pid: str, bucket: str | None = None) -> PfopStatus:
        n = self.polls[pid] = self.polls.get(pid, 0) + 1
        key, fop = self.submitted[int(pid.split(".")[1])]
        if n < self.polls_until_done:
            return PfopStatus(id=pid, code=2, desc="processing", items=(PfopItem(cmd=fop, code=2),))
        if key in self.fail_keys:
            return PfopStatus(id=pid, code=3, desc="failed", items=(PfopItem(cmd=fop, code=3, error="bad fop"),))
        return PfopStatus(id=pid, code=0, desc="ok", items=(PfopItem(cmd=fop, code=0, key=f"out/{key}"),))


@dataclass
class Client:
    fop: FakeFop = field(default_factory=FakeFop)


def pfop_job(**kw: Any) -> PfopJob:
    base = {"name": "thumbs", "kind": "pfop", "bucket": "media", "keys": ["v/a.mp4", "v/b.mp4"],
            "fops": ["vframe/jpg/offset/1|saveas/$(bucket):$(dir)$(stem).jpg"], "poll_interval": 0.001}
    return PfopJob.model_validate({**base, **kw})


def run_all(spec: PfopJob, client: Client, state: MemoryState, run_id: str = "r") -> tuple[list[Any], list[Any]]:
    ctx = JobContext(client=client, spec=spec, state=state, run_id=run_id)  # type: ignore[arg-type]
    actions = list(KIND.plan(spec, ctx))
    todo = [a for a in actions if a.op == "pfop"]
    return actions, KIND.run(todo, ctx) if todo else []


def test_submit_poll_and_results_then_rerun_skips() -> None:
    client, state = Client(FakeFop(polls_until_done=3)), MemoryState()
    actions, outcomes = run_all(pfop_job(), client, state)
    assert [a.params["outputs"] for a in actions] == [["media:v/a.jpg"], ["media:v/b.jpg"]]
    assert [o.status for o in outcomes] == ["done", "done"]
    assert outcomes[0].result["persistent_id"] == "z0.0"
    assert outcomes[0].result["items"] == [{"cmd": actions[0].params["fops"], "code": 0, "key": "out/v/a.mp4"}]
    assert len(client.fop.submitted) == 2
    again, outcomes = run_all(pfop_job(), client, state, run_id="r2")
    assert [a.op for a in again] == ["skip", "skip"] and outcomes == []
    assert len(client.fop.submitted) == 2  # nothing resubmitted


def test_failed_fop_is_reported_and_resubmitted_next_run() -> None:
    client, state = Client(FakeFop(fail_keys={"v/b.mp4"})), MemoryState()
    _, outcomes = run_all(pfop_job(), client, state)
    assert [(o.status, o.code) for o in outcomes] == [("done", None), ("failed", 3)]
    assert "bad fop" in outcomes[1].message
    client.fop.fail_keys.clear()
    again, outcomes = run_all(pfop_job(), client, state, run_id="r2")
    assert [a.op for a in again] == ["skip", "pfop"]
    assert [o.status for o in outcomes] == ["done"]
    assert [k for k, _ in client.fop.submitted] == ["v/a.mp4", "v/b.mp4", "v/b.mp4"]


def test_timeout_leaves_the_job_to_be_polled_not_resubmitted() -> None:
    client, state = Client(FakeFop(polls_until_done=10**6)), MemoryState()
    _, outcomes = run_all(pfop_job(keys=["k.mp4"], timeout=0.01), client, state)
    assert outcomes[0].status == "failed" and "keeps waiting" in outcomes[0].message
    client.fop.polls_until_done = 0
    again, outcomes = run_all(pfop_job(keys=["k.mp4"], timeout=5), client, state, run_id="r2")
    assert again[0].params["persistent_id"] == "z0.0"
    assert outcomes[0].status == "done" and len(client.fop.submitted) == 1


def test_changed_fops_are_a_new_job() -> None:
    client, state = Client(), MemoryState()
    run_all(pfop_job(keys=["k.mp4"]), client, state)
    again, _ = run_all(pfop_job(keys=["k.mp4"], fops=["avinfo"]), client, state, run_id="r2")
    assert again[0].op == "pfop" and len(client.fop.submitted) == 2


def test_no_wait_returns_the_id() -> None:
    client, state = Client(FakeFop(polls_until_done=10**6)), MemoryState()
    _, outcomes = run_all(pfop_job(keys=["k.mp4"], wait=False), client, state)
    assert outcomes[0].status == "done" and outcomes[0].result == {"persistent_id": "z0.0", "waited": False}
    assert client.fop.polls == {}
