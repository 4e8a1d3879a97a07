"""batch convergence: a rerun plans nothing for an object already as the job wants it
(kodo_jobs/jobs/batch_state.py), against a recording fake client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kodo_jobs.actions import Action
from kodo_jobs.jobs.base import JobContext
from kodo_jobs.jobs.batch import KIND
from kodo_jobs.kodo.rs import BatchOp, BatchResult
from kodo_jobs.kodo.rsf import ListEntry
from kodo_jobs.manifest.spec_batch import BatchJob


@dataclass
class Rs:
    """Stats from ``objects`` (612 when absent); every other op succeeds."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    stats: list[str] = field(default_factory=list)

    def batch(self, batch_ops: list[BatchOp]) -> list[BatchResult]:
        out = []
        for op in batch_ops:
            if op.command.startswith("stat/"):
                self.stats.append(f"{op.bucket}:{op.key}")
                data = self.objects.get(f"{op.bucket}:{op.key}")
                out.append(BatchResult(op=op, code=200 if data else 612, data=data or {"error": "no such file"}))
            else:
                out.append(BatchResult(op=op, code=200, data={}))
        return out


@dataclass
class Rsf:
    entries: list[ListEntry]

    def list(self, bucket: str, *, prefix: str = "", read_ahead: bool = False) -> Any:
        return (e for e in self.entries if e.key.startswith(prefix))


@dataclass
class Client:
    rs: Rs = field(default_factory=Rs)
    rsf: Rsf = field(default_factory=lambda: Rsf([]))


class State:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get_value(self, key: str) -> str | None:
        return self.values.get(key)

    def set_value(self, key: str, value: str | None) -> None:
        if value is not None:
            self.values[key] = value


def entry(key: str, **kw: Any) -> ListEntry:
    return ListEntry(key=key, fsize=3, hash=kw.pop("hash", "Fh-" + key), put_time_100ns=kw.pop("put", 1), **kw)


def job(**kw: Any) -> BatchJob:
    return BatchJob.model_validate({"name": "j", "kind": "batch", "bucket": "media", **kw})


def plan(spec: BatchJob, client: Client, state: State | None = None) -> list[Action]:
    ctx = JobContext(client=client, spec=spec, state=state or State(), run_id="r")  # type: ignore[arg-type]
    return list(KIND.plan(spec, ctx))


def run(spec: BatchJob, client: Client, state: State, actions: list[Action]) -> None:
    ctx = JobContext(client=client, spec=spec, state=state, run_id="r")  # type: ignore[arg-type]
    KIND.run([a for a in actions if a.op != "skip"], ctx)


def ops(actions: list[Action]) -> list[tuple[str, str]]:
    return [(a.op, a.key) for a in actions]


def test_listed_objects_already_in_the_wanted_class_status_or_mime_are_skipped() -> None:
    client = Client(rsf=Rsf([entry("a", type=4), entry("b", type=0, status=1, mime_type="text/css")]))
    assert ops(plan(job(select={"prefix": ""}, op={"chtype": {"type": "archive_ir"}}), client)) == [
        ("skip", "a"), ("chtype", "b")]
    assert ops(plan(job(select={"prefix": ""}, op={"chstatus": {"status": 1}}), client)) == [
        ("chstatus", "a"), ("skip", "b")]
    assert ops(plan(job(select={"prefix": ""}, op={"chgm": {"mime": "text/css"}}), client)) == [
        ("chgm", "a"), ("skip", "b")]
    assert client.rs.stats == []  # the listing was enough


def test_given_keys_are_stated_and_metadata_needs_a_stat() -> None:
    client = Client(Rs({"media:p": {"hash": "h", "putTime": 1, "status": 1, "mimeType": "a/b",
                                    "x-qn-meta": {"cache": "long"}}}))
    assert ops(plan(job(keys=["p", "gone"], op={"chstatus": {"status": 1}}), client)) == [
        ("skip", "p"), ("chstatus", "gone")]  # a missing key keeps its op: Kodo answers 612
    meta = plan(job(keys=["p"], op={"chgm": {"mime": "a/b", "metadata": {"cache": "long"}}}), client)
    assert ops(meta) == [("skip", "p")]
    other = plan(job(keys=["p"], op={"chgm": {"mime": "a/b", "metadata": {"cache": "short"}}}), client)
    assert ops(other) == [("chgm", "p")]


def test_restore_is_skipped_while_restoring_or_restored() -> None:
    client = Client(Rs({"media:r": {"hash": "h", "type": 2, "restoreStatus": 1}, "media:f": {"hash": "h", "type": 2}}))
    assert ops(plan(job(keys=["r", "f"], op={"restoreAr": {"days": 3}}), client)) == [
        ("skip", "r"), ("restoreAr", "f")]


def test_forced_copy_onto_the_same_content_is_skipped_a_plain_copy_is_not() -> None:
    client = Client(Rs({"backup:a": {"hash": "Fh-a"}, "backup:b": {"hash": "other"}}),
                    Rsf([entry("a"), entry("b"), entry("c")]))
    forced = plan(job(select={"prefix": ""}, op={"copy": {"bucket": "backup", "force": True}}), client)
    assert ops(forced) == [("skip", "a"), ("copy", "b"), ("copy", "c")]
    plain = plan(job(select={"prefix": ""}, op={"copy": {"bucket": "backup"}}), client)
    assert ops(plain) == [("copy", "a"), ("copy", "b"), ("copy", "c")]  # Kodo's 614 stays a failure


def test_expiry_and_lifecycle_apply_once_per_object_version() -> None:
    state = State()
    client = Client(rsf=Rsf([entry("t/a"), entry("t/b")]))
    spec = job(select={"prefix": "t/"}, op={"deleteAfterDays": {"days": 1}})
    first = plan(spec, client, state)
    assert ops(first) == [("deleteAfterDays", "t/a"), ("deleteAfterDays", "t/b")]
    run(spec, client, state, first)
    assert ops(plan(spec, client, state)) == [("skip", "t/a"), ("skip", "t/b")]
    client.rsf.entries[0] = entry("t/a", put=2)  # uploaded again: a new version
    assert ops(plan(spec, client, state)) == [("deleteAfterDays", "t/a"), ("skip", "t/b")]
    changed = job(select={"prefix": "t/"}, op={"deleteAfterDays": {"days": 2}})
    assert ops(plan(changed, client, state)) == [("deleteAfterDays", "t/a"), ("deleteAfterDays", "t/b")]
    lifecycle = job(select={"prefix": "t/"}, op={"lifecycle": {"to_ia_after_days": 30}})
    assert ops(plan(lifecycle, client, state))[1] == ("lifecycle", "t/b")  # another op: not applied yet


def test_a_soft_delete_that_expires_is_recorded_by_key_version() -> None:
    state = State()
    client = Client(Rs({"media:tmp/a": {"hash": "h", "putTime": 5}}))
    spec = job(keys=["tmp/a"], op={"delete": {}}, soft_delete={"delete_after_days": 7})
    first = plan(spec, client, state)
    assert ops(first) == [("delete", "tmp/a")]
    run(spec, client, state, first)
    assert ops(plan(spec, client, state)) == [("skip", "tmp/a")]


def test_stat_is_always_planned_and_is_no_change() -> None:
    from kodo_jobs.actions import READ_ONLY_OPS

    client = Client(rsf=Rsf([entry("a")]))
    assert ops(plan(job(select={"prefix": ""}, op={"stat": {}}), client)) == [("stat", "a")]
    assert "stat" in READ_ONLY_OPS
