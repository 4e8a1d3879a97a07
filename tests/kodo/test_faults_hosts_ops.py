"""Injected emulator faults map to the right classes; the uc region cache honours its ttl;
our batch op builders produce the same command strings as the SDK's."""

from __future__ import annotations

from typing import Any

import pytest
import qiniu

from kodo_jobs.kodo import KodoClient, Timeouts, errors, ops
from kodo_jobs.kodo.config import Hosts
from kodo_jobs.kodo.hosts import HostResolver
from kodo_jobs.kodo.uc import RegionHosts, parse_query


def test_every_injected_fault_is_classified(emulator: Any) -> None:
    client = KodoClient.for_endpoint(emulator.url, "test-ak", "test-sk", timeouts=Timeouts(connect=2, read=0.3))
    emulator.set_faults(1.0, seed=7)
    seen: dict[type, int] = {}
    wanted = {errors.ServerError, errors.Throttled, errors.TransportError, errors.RequestTimeout}
    calls = 0
    while calls < 60 and not wanted <= set(seen):
        calls += 1
        try:
            client.rs.stat("test-bucket", "k")
        except errors.NotFound:
            seen[errors.NotFound] = seen.get(errors.NotFound, 0) + 1  # a "slow" that answered in time
        except errors.RetryableError as exc:
            seen[type(exc)] = seen.get(type(exc), 0) + 1
            if isinstance(exc, errors.Throttled):
                assert exc.retry_after == 1.0 and exc.status == 573
    emulator.set_faults(0.0)
    assert sum(seen.values()) == calls  # every call ended in a classified outcome
    assert wanted <= set(seen)  # 503/599, 573, dropped connection, slow answer past the read timeout
    client.close()


class FakeUc:
    def __init__(self, ttl: int) -> None:
        self.calls = 0
        self.ttl = ttl

    def query_region(self, bucket: str) -> list[RegionHosts]:
        self.calls += 1
        return parse_query({"hosts": [
            {"region": "z9", "ttl": self.ttl, "up": {"domains": ["up1:80"], "acc_domains": ["acc:80"]},
             "rs": {"domains": ["rs1", "rs2"]}},
            {"region": "z8", "ttl": self.ttl * 2, "rs": {"domains": ["rs3", "rs1"]}}]}, "http")


def test_region_cache_and_order() -> None:
    now = [100.0]
    uc = FakeUc(ttl=60)
    resolver = HostResolver(Hosts(), uc=uc, clock=lambda: now[0])  # type: ignore[arg-type]
    assert resolver.candidates("rs", "b") == ("http://rs1", "http://rs2", "http://rs3")
    assert resolver.candidates("up", "b") == ("http://up1:80",)
    now[0] += 59
    resolver.candidates("rs", "b")
    assert uc.calls == 1
    now[0] += 2
    resolver.candidates("rs", "b")
    assert uc.calls == 2
    resolver.candidates("rs", "other")
    assert uc.calls == 3
    fast = HostResolver(Hosts(accelerate=True), uc=uc)  # type: ignore[arg-type]
    assert fast.candidates("up", "b") == ("http://acc:80", "http://up1:80")
    assert fast.candidates("up", "b", upload_host="pinned:1") == ("https://pinned:1",)
    with pytest.raises(errors.BadRequest):
        fast.candidates("io", "b")  # uc listed no io host
    with pytest.raises(errors.BadRequest):
        fast.candidates("rs")  # no bucket to look up


def test_empty_region_answer_is_no_such_bucket() -> None:
    with pytest.raises(errors.NoSuchBucket):
        parse_query({"hosts": []}, "http")


def test_hosts_validation() -> None:
    assert Hosts.single("127.0.0.1:9400").rs == ("http://127.0.0.1:9400",)
    with pytest.raises(ValueError):
        Hosts(rs=("http://h/path",))
    with pytest.raises(ValueError):
        Hosts(rs=("ftp://h",))
    z1 = Hosts.for_region("z1")
    assert z1.up == ("https://upload-z1.qiniup.com", "https://up-z1.qiniup.com") and not z1.query_region


@pytest.mark.parametrize(("ours", "theirs"), [
    (ops.stat("b", "a"), qiniu.build_batch_stat("b", ["a"])),
    (ops.delete("b", "中/文"), qiniu.build_batch_delete("b", ["中/文"])),
    (ops.move("b", "a", "b2", "c", force=True), qiniu.build_batch_move("b", {"a": "c"}, "b2", force="true")),
    (ops.copy("b", "a", "b2", "c"), qiniu.build_batch_copy("b", {"a": "c"}, "b2")),
    (ops.rename("b", "a", "c"), qiniu.build_batch_rename("b", {"a": "c"}, force="false")),
    (ops.restore_ar("b", "a", 3), qiniu.build_batch_restore_ar("b", {"a": 3})),
])
def test_op_builders_match_sdk(ours: Any, theirs: list[str]) -> None:
    assert [ours.command] == theirs


def test_op_builder_validation() -> None:
    with pytest.raises(ValueError):
        ops.chgm("b", "k")
    with pytest.raises(ValueError):
        ops.chstatus("b", "k", 2)
    with pytest.raises(ValueError):
        ops.restore_ar("b", "k", 8)
    assert ops.chgm("b", "k", metadata={"a": "1"}).command.endswith("/x-qn-meta-a/MQ==")
