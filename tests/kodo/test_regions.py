"""Region discovery: uc answers cached in memory and in a store for their ttl, one query for many
threads, "incorrect region" (re-query with hosts from uc, a run-fatal message naming the bucket's
region with fixed hosts), acceleration domains first and the fall-back to the normal upload
hosts when Kodo says acceleration is not configured; the region table and host -> region."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

import pytest

from kodo_jobs.kodo import errors
from kodo_jobs.kodo.config import Hosts
from kodo_jobs.kodo.hosts import HostResolver, ReadOnlyStore
from kodo_jobs.kodo.http import error_for_status
from kodo_jobs.kodo.regions import REGIONS, region_of_host
from kodo_jobs.kodo.uc import RegionHosts, parse_query
from tests.fixtures.memory_state import MemoryState


class FakeUc:
    """Answers /v4/query from a list of regions that a test can change."""

    def __init__(self, region: str = "z0", ttl: int = 600, acc: tuple[str, ...] = ()) -> None:
        self.region = region
        self.ttl = ttl
        self.acc = acc
        self.calls = 0
        self.gate: threading.Event | None = None

    def query_region(self, bucket: str) -> list[RegionHosts]:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(10)
        r = self.region
        return parse_query({"hosts": [{
            "region": r, "ttl": self.ttl,
            "up": {"domains": [f"up-{r}.qiniup.com"], "acc_domains": list(self.acc)},
            "rs": {"domains": [f"rs-{r}.qiniuapi.com"]}, "api": {"domains": [f"api-{r}.qiniuapi.com"]}}]}, "https")


def resolver(hosts: Hosts, uc: FakeUc, *, wall: list[float] | None = None) -> HostResolver:
    clock = wall or [1000.0]
    r = HostResolver(hosts, uc=uc, clock=lambda: clock[0], wall_clock=lambda: clock[0])  # type: ignore[arg-type]
    return r


def wrong_region(host: str = "up-z2.qiniup.com") -> errors.KodoError:
    body = json.dumps({"error": f"incorrect region, please use {host}"}).encode()
    return error_for_status(400, body, {"X-Reqid": "r1"}, method="POST", url="https://up-z1.qiniup.com/")


def test_kodo_answers_are_classified() -> None:
    exc = wrong_region()
    assert isinstance(exc, errors.WrongRegion) and isinstance(exc, errors.RunFatalError)
    assert exc.use_host == "up-z2.qiniup.com" and exc.reqid == "r1"
    acc = error_for_status(400, b'{"error":"transfer acceleration is not configured on this bucket"}', {},
                           method="POST", url="https://acc.example.com/")
    assert isinstance(acc, errors.AccelerationUnavailable) and isinstance(acc, errors.BadRequest)
    plain = error_for_status(400, b'{"error":"invalid put policy"}', {}, method="POST", url="https://x/")
    assert type(plain) is errors.BadRequest


def test_region_table_and_host_names() -> None:
    assert {"z0", "cn-east-2", "z1", "z2", "na0", "as0", "ap-northeast-1"} <= set(REGIONS)
    assert region_of_host("up-z2.qiniup.com") == "z2"
    assert region_of_host("https://upload-cn-east-2.qiniup.com") == "cn-east-2"
    assert region_of_host("up.qiniup.com") == "z0"
    assert region_of_host("rs-ap-northeast-1.qiniuapi.com") == "ap-northeast-1"
    assert region_of_host("upload.example.com") is None


def test_answer_is_kept_in_the_store_for_its_ttl_and_read_by_the_next_run() -> None:
    store, uc, now = MemoryState(), FakeUc(ttl=600), [1000.0]
    first = resolver(Hosts(), uc, wall=now)
    first.persist(store, "ak")
    assert first.candidates("rs", "b") == ("https://rs-z0.qiniuapi.com",)
    assert uc.calls == 1 and len(store.values) == 1
    key, value = next(iter(store.values.items()))
    assert "ak" not in key and "ak" not in value  # hashed: no account name in the state file
    now[0] += 599  # a later run (new process) within the ttl: no query
    second = resolver(Hosts(), uc, wall=now)
    second.persist(store, "ak")
    assert second.candidates("up", "b") == ("https://up-z0.qiniup.com",)
    assert uc.calls == 1
    other_account = resolver(Hosts(), uc, wall=now)
    other_account.persist(store, "another-ak")
    other_account.candidates("rs", "b")
    assert uc.calls == 2  # the cache is per account
    now[0] += 2  # past the ttl: asked again
    third = resolver(Hosts(), uc, wall=now)
    third.persist(store, "ak")
    third.candidates("rs", "b")
    assert uc.calls == 3


def test_plan_reads_the_store_but_never_writes_it() -> None:
    store, uc = MemoryState(), FakeUc()
    r = resolver(Hosts(), uc)
    r.persist(ReadOnlyStore(store), "ak")
    r.candidates("rs", "b")
    assert store.values == {} and uc.calls == 1


def test_unreadable_stored_answer_is_asked_again() -> None:
    store, uc = MemoryState(), FakeUc()
    r = resolver(Hosts(), uc)
    r.persist(store, "ak")
    r.candidates("rs", "b")
    key = next(iter(store.values))
    store.values[key] = "{not json"
    again = resolver(Hosts(), uc)
    again.persist(store, "ak")
    assert again.candidates("rs", "b") == ("https://rs-z0.qiniuapi.com",)
    assert uc.calls == 2


def test_threads_that_miss_together_send_one_query() -> None:
    uc = FakeUc()
    uc.gate = threading.Event()
    r = resolver(Hosts(), uc)
    results: list[tuple[str, ...]] = []
    threads = [threading.Thread(target=lambda: results.append(r.candidates("rs", "b"))) for _ in range(8)]
    for t in threads:
        t.start()
    uc.gate.set()
    for t in threads:
        t.join(10)
    assert uc.calls == 1 and len(results) == 8


def test_incorrect_region_with_hosts_from_uc_asks_uc_again_and_goes_on() -> None:
    uc = FakeUc(region="z1")
    r = resolver(Hosts(), uc)
    store = MemoryState()
    r.persist(store, "ak")
    tried: list[tuple[str, ...]] = []

    def send(hosts: tuple[str, ...]) -> str:
        tried.append(hosts)
        if hosts == ("https://up-z1.qiniup.com",):
            uc.region = "z2"  # the bucket moved (or the cached answer was stale)
            raise wrong_region()
        return "ok"

    assert r.call("up", "b", send) == "ok"
    assert tried == [("https://up-z1.qiniup.com",), ("https://up-z2.qiniup.com",)]
    assert uc.calls == 2
    assert "z2" in next(iter(store.values.values()))  # the stored answer was replaced


def test_incorrect_region_twice_with_hosts_from_uc_stops() -> None:
    r = resolver(Hosts(), FakeUc(region="z1"))

    def send(hosts: tuple[str, ...]) -> str:
        raise wrong_region()

    with pytest.raises(errors.WrongRegion, match="uc was asked again"):
        r.call("up", "b", send)


def test_incorrect_region_with_a_fixed_region_names_the_buckets_region() -> None:
    uc = FakeUc()
    r = resolver(Hosts.for_region("z1"), uc)
    calls = 0

    def send(hosts: tuple[str, ...]) -> str:
        nonlocal calls
        calls += 1
        raise wrong_region("up-z2.qiniup.com")

    with pytest.raises(errors.WrongRegion) as caught:
        r.call("up", "photos", send)
    message = str(caught.value)
    assert "bucket 'photos' is in region z2" in message
    assert "`region: z1`" in message and "`region: z2`" in message and "`region: auto`" in message
    assert calls == 1 and uc.calls == 0  # no retry, no uc query


def test_acceleration_domains_first_then_normal_hosts_when_not_configured() -> None:
    uc = FakeUc(acc=("b-acc.kodo-accelerate.example.com",))
    r = resolver(Hosts(accelerate=True), uc)
    assert r.candidates("up", "b") == ("https://b-acc.kodo-accelerate.example.com", "https://up-z0.qiniup.com")
    tried: list[tuple[str, ...]] = []

    def send(hosts: tuple[str, ...]) -> str:
        tried.append(hosts)
        if "https://b-acc.kodo-accelerate.example.com" in hosts:
            raise error_for_status(400, b'{"error":"transfer acceleration is not configured on this bucket"}',
                                   {}, method="POST", url=hosts[0])
        return "ok"

    assert r.call("up", "b", send) == "ok"
    assert tried[-1] == ("https://up-z0.qiniup.com",)
    assert r.candidates("up", "b") == ("https://up-z0.qiniup.com",)  # remembered for the next files
    assert r.candidates("rs", "b") == ("https://rs-z0.qiniuapi.com",)  # only uploads are accelerated


def test_an_upload_in_flight_when_another_learnt_acceleration_is_off_falls_back_too() -> None:
    r = resolver(Hosts(accelerate=True), FakeUc(acc=("acc.example.com",)))
    refused = error_for_status(400, b'{"error":"transfer acceleration is not configured on this bucket"}', {},
                               method="POST", url="https://acc.example.com/")
    tried: list[tuple[str, ...]] = []

    def send(hosts: tuple[str, ...]) -> str:
        tried.append(hosts)
        if hosts[0] == "https://acc.example.com":
            # meanwhile another thread's upload was refused and switched the bucket off
            r.call("up", "b", lambda h: "other" if h[0] != "https://acc.example.com" else _raise(refused))
            raise refused
        return "ok"

    assert r.call("up", "b", send) == "ok"
    assert tried == [("https://acc.example.com", "https://up-z0.qiniup.com"), ("https://up-z0.qiniup.com",)]

    def normal_hosts_refuse(hosts: tuple[str, ...]) -> str:
        raise refused

    with pytest.raises(errors.AccelerationUnavailable):  # said by the normal hosts: no loop, no fall-back
        r.call("up", "b", normal_hosts_refuse)


def _raise(exc: Exception) -> str:
    raise exc


def test_acceleration_with_a_fixed_region_asks_uc_for_the_domains() -> None:
    uc = FakeUc(acc=("b-acc.example.com",))
    r = resolver(replace(Hosts.for_region("z2"), accelerate=True), uc)
    assert r.candidates("up", "b") == ("https://b-acc.example.com", "https://upload-z2.qiniup.com",
                                       "https://up-z2.qiniup.com")
    assert r.candidates("rs", "b") == ("https://rs-z2.qiniuapi.com",)
    without = resolver(Hosts.for_region("z2"), FakeUc(acc=("b-acc.example.com",)))
    assert without.candidates("up", "b") == ("https://upload-z2.qiniup.com", "https://up-z2.qiniup.com")


def test_the_client_table_agrees_with_the_emulators_kodo_internet() -> None:
    from kodo_jobs.emulator.regions import REGIONS as EMULATED

    assert set(REGIONS) == set(EMULATED)
    for rid, region in EMULATED.items():
        hosts = Hosts.for_region(rid)
        bare = {name: tuple(u.removeprefix("https://") for u in getattr(hosts, name))
                for name in ("up", "io", "rs", "rsf", "api")}
        assert bare["up"] == region.up and bare["io"][0] == region.io[0]
        assert (bare["rs"], bare["rsf"], bare["api"]) == (region.rs, region.rsf, region.api)
        assert region_of_host(region.incorrect_region_host) == rid


def test_region_query_falls_over_to_the_backup_uc_hosts(emulator: Any) -> None:
    from kodo_jobs.kodo import KodoClient, Timeouts
    from kodo_jobs.kodo.config import Credentials

    dead = "http://127.0.0.1:9"  # nothing listens: connection refused, as a primary uc that is down
    hosts = Hosts(uc=(dead, emulator.url), scheme="http")
    with KodoClient(Credentials("test-ak", "test-sk"), hosts, timeouts=Timeouts(connect=2, read=10)) as client:
        client.upload.upload_bytes("test-bucket", "k", b"data")
        assert client.rs.stat("test-bucket", "k").fsize == 4
        assert client.resolver.queries == 1
