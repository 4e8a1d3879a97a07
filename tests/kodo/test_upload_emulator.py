"""Uploads against the real emulator: form, v1, v2, policies, resume from a saved state in a
fresh client (with the emulator's byte counter proving finished parts are not sent again),
restart on an unknown uploadId, source changes, and the recorded request sequences."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.kodo import KodoClient, PutPolicy, UploadState, errors
from kodo_jobs.kodo.auth import urlsafe_b64
from kodo_jobs.kodo.etag import etag_bytes, etag_file, etag_file_v2

from .conftest import Recorder, make_client

B = "test-bucket"
MIB = 1024 * 1024


def _file(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


class Interrupt(Exception):
    """Raised from on_state to simulate a crash after some parts."""


def test_form_upload_bytes_and_file(kodo: tuple[KodoClient, Recorder], tmp_path: Path) -> None:
    client, rec = kodo
    res = client.upload.upload_bytes(B, "hello.txt", b"hello", mime_type="text/plain",
                                     custom_vars={"x:foo": "bar"}, metadata={"color": "red"})
    assert (res.key, res.hash, res.fsize) == ("hello.txt", "Fqr0xh3cxeii2r7eDztILNmuqUNN", 5)
    st = client.rs.stat(B, "hello.txt")
    assert st.mime_type == "text/plain" and "red" in st.metadata.values()
    path = _file(tmp_path, "small.bin", 1000)
    progress: list[int] = []
    res = client.upload.upload_file(B, "small.bin", path, on_progress=progress.append)
    assert res.hash == etag_file(path) and progress == [1000]
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert client.upload.upload_file(B, "empty", empty).hash == "Fto5o-5ea0sNMlW_75VgGJCv2AcJ"
    assert rec.paths() == ["POST /", "POST /stat/" + client_entry("hello.txt"), "POST /", "POST /"]


def client_entry(key: str) -> str:
    from kodo_jobs.kodo.auth import encoded_entry
    return encoded_entry(B, key)


def test_form_upload_streams_large_file(kodo: tuple[KodoClient, Recorder], tmp_path: Path) -> None:
    client, _ = kodo
    path = _file(tmp_path, "mid.bin", 5 * MIB + 3)
    res = client.upload.upload_file(B, "mid.bin", path, threshold=8 * MIB)
    assert res.hash == etag_file(path)


def test_policy_return_body_and_insert_only(kodo: tuple[KodoClient, Recorder]) -> None:
    client, _ = kodo
    policy = PutPolicy.from_mapping({"returnBody": '{"k":"$(key)","s":$(fsize)}', "insertOnly": 1})
    res = client.upload.upload_bytes(B, "rb", b"abc", policy=policy)
    assert res.body == {"k": "rb", "s": 3}
    with pytest.raises(errors.AlreadyExists):
        client.upload.upload_bytes(B, "rb", b"different", policy=policy)
    with pytest.raises(errors.BadRequest):
        client.upload.upload_bytes(B, "big", b"x" * 100, policy=PutPolicy(fsize_limit=10))


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_resumable_sequence(kodo: tuple[KodoClient, Recorder], tmp_path: Path, version: Any) -> None:
    client, rec = kodo
    size = 9 * MIB + 7 if version == "v1" else 2 * MIB + 5
    path = _file(tmp_path, "big.bin", size)
    states: list[UploadState] = []
    progress: list[int] = []
    res = client.upload.upload_file(B, "big", path, version=version, threshold=MIB, part_size=MIB,
                                    part_concurrency=1, mime_type="application/x-test",
                                    custom_vars={"x:a": "1"}, metadata={"m": "v"},
                                    on_state=states.append, on_progress=progress.append)
    expected = etag_file(path) if version == "v1" else etag_file_v2(path, MIB)
    assert res.hash == expected and res.key == "big" and res.fsize == size
    assert sum(progress) == size
    assert [len(s.parts) for s in states] == list(range(len(states)))  # initiate + one per part
    st = client.rs.stat(B, "big")
    assert st.mime_type == "application/x-test" and st.fsize == size
    paths = rec.paths()
    if version == "v1":
        assert [p.split("/")[1] for p in paths[:-1]] == ["mkblk"] * 3 + ["mkfile"]
        assert paths[:3] == ["POST /mkblk/4194304", "POST /mkblk/4194304", f"POST /mkblk/{MIB + 7}"]
    else:
        obj = f"/buckets/{B}/objects/{urlsafe_b64('big')}/uploads"
        upload_id = states[0].upload_id
        assert paths[:-1] == [f"POST {obj}", f"PUT {obj}/{upload_id}/1", f"PUT {obj}/{upload_id}/2",
                              f"PUT {obj}/{upload_id}/3", f"POST {obj}/{upload_id}"]


def test_parallel_parts(kodo: tuple[KodoClient, Recorder], tmp_path: Path) -> None:
    client, rec = kodo
    path = _file(tmp_path, "par.bin", 6 * MIB + 1)
    states: list[UploadState] = []
    res = client.upload.upload_file(B, "par", path, threshold=MIB, part_size=MIB, part_concurrency=4,
                                    on_state=states.append)
    assert res.hash == etag_file_v2(path, MIB)
    assert sorted(p.number for p in states[-1].parts) == list(range(1, 8))
    assert len([p for p in rec.paths() if p.startswith("PUT")]) == 7


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_interrupted_upload_resumes_in_fresh_client(emulator: Any, tmp_path: Path, version: Any) -> None:
    part = 4 * MIB if version == "v1" else MIB
    size = 3 * part + 123
    path = _file(tmp_path, "r.bin", size)
    saved: list[str] = []

    def crash_after_two(state: UploadState) -> None:
        saved.append(state.to_json())  # persisted before the part is counted
        if len(state.parts) == 2:
            raise Interrupt

    first, _ = make_client(emulator.url)
    with pytest.raises(Interrupt):
        first.upload.upload_file(B, "resumed", path, version=version, threshold=MIB, part_size=part,
                                 part_concurrency=1, on_state=crash_after_two)
    first.close()
    state = UploadState.from_json(saved[-1])
    assert len(state.parts) == 2 and state.bytes_done >= part + 123
    missing = size - state.bytes_done
    before = emulator.stats()["bytes_received"]

    fresh, rec = make_client(emulator.url)
    progress: list[int] = []
    res = fresh.upload.upload_file(B, "resumed", path, version=version, threshold=MIB, part_size=part,
                                   resume=state, on_progress=progress.append)
    sent = emulator.stats()["bytes_received"] - before
    assert res.hash == (etag_file(path) if version == "v1" else etag_file_v2(path, part))
    assert missing <= sent < missing + 64 * 1024  # only the missing parts (plus small request bodies)
    assert sum(progress) == size
    if version == "v1":
        assert [p.split("/")[1] for p in rec.paths()] == ["mkblk", "mkblk", "mkfile"]
    else:
        assert [p.split(" ")[0] for p in rec.paths()] == ["PUT", "PUT", "POST"]
        assert all(state.upload_id in p for p in rec.paths())


def test_unknown_upload_id_requires_restart(kodo: tuple[KodoClient, Recorder], tmp_path: Path) -> None:
    client, _ = kodo
    path = _file(tmp_path, "x.bin", 2 * MIB + 1)
    st = os.stat(path)
    bogus = UploadState("v2", B, "x", MIB, st.st_size, st.st_mtime_ns, 4_000_000_000, upload_id="nope")
    with pytest.raises(errors.UploadRestartRequired):
        client.upload.upload_file(B, "x", path, threshold=MIB, part_size=MIB, resume=bogus)
    # a state of another file version is ignored: the upload starts fresh and succeeds
    other = UploadState("v2", B, "x", MIB, st.st_size, st.st_mtime_ns + 1, 4_000_000_000, upload_id="nope")
    assert client.upload.upload_file(B, "x", path, threshold=MIB, part_size=MIB, resume=other).hash


def test_v1_bad_ctx_requires_restart(kodo: tuple[KodoClient, Recorder], tmp_path: Path) -> None:
    from kodo_jobs.kodo import FinishedPart
    client, _ = kodo
    path = _file(tmp_path, "c.bin", 4 * MIB + 1)
    st = os.stat(path)
    bogus = UploadState("v1", B, "c", 4 * MIB, st.st_size, st.st_mtime_ns, 4_000_000_000,
                        parts=(FinishedPart(1, "bogus-ctx", 4 * MIB),))
    with pytest.raises(errors.UploadRestartRequired):
        client.upload.upload_file(B, "c", path, version="v1", threshold=MIB, resume=bogus)


def test_source_changed_during_upload(kodo: tuple[KodoClient, Recorder], tmp_path: Path) -> None:
    client, rec = kodo
    path = _file(tmp_path, "chg.bin", 2 * MIB + 1)

    def touch(state: UploadState) -> None:
        if len(state.parts) == 1:
            os.utime(path, ns=(1, 1))

    with pytest.raises(errors.SourceChanged):
        client.upload.upload_file(B, "chg", path, threshold=MIB, part_size=MIB, part_concurrency=1,
                                  on_state=touch)
    assert not client.rs.exists(B, "chg")
    assert rec.paths()[-2].startswith("DELETE /buckets/")  # the abandoned upload was aborted


def test_v2_list_parts_and_abort(kodo: tuple[KodoClient, Recorder]) -> None:
    client, rec = kodo
    up = client.upload.resumable
    hosts = client.resolver.candidates("up", B)
    token = client.upload.token(B, "lp")
    upload_id, expire = up.initiate(hosts, token, B, "lp")
    e1 = up.upload_part(hosts, token, B, "lp", upload_id, 1, b"a" * MIB)
    up.upload_part(hosts, token, B, "lp", upload_id, 2, b"b" * 10)
    listed = list(up.list_parts(hosts, token, B, "lp", upload_id, max_parts=1))
    assert [(p.number, p.size) for p in listed] == [(1, MIB), (2, 10)] and listed[0].etag == e1
    up.abort(hosts, token, B, "lp", upload_id)
    with pytest.raises(errors.UploadRestartRequired):
        up.complete(hosts, token, B, "lp", upload_id, [(1, e1)])
    assert expire > 0


def test_upload_host_override(emulator: Any, tmp_path: Path) -> None:
    from kodo_jobs.kodo import Credentials, Hosts
    hosts = Hosts(up=("http://127.0.0.1:9",), rs=(emulator.url,), query_region=False, scheme="http")
    client = KodoClient(Credentials("test-ak", "test-sk"), hosts)
    res = client.upload.upload_bytes(B, "acc", b"acc", upload_host=emulator.url)
    assert res.hash == etag_bytes(b"acc")
    accelerated = KodoClient(Credentials("test-ak", "test-sk"), hosts.with_upload_override(emulator.url))
    assert accelerated.upload.upload_bytes(B, "acc2", b"acc").hash == etag_bytes(b"acc")


def test_private_download_url(kodo: tuple[KodoClient, Recorder], emulator: Any) -> None:
    import requests
    client, _ = kodo
    client.upload.upload_bytes("private-bucket", "p.txt", b"secret")
    url = f"{emulator.url}/dl/private-bucket/p.txt"
    assert requests.get(url, timeout=5).status_code == 401
    signed = client.urls.private(url, expires=60)
    got = requests.get(signed, timeout=5)
    assert got.status_code == 200 and got.content == b"secret"


def test_expired_state_starts_fresh(kodo: tuple[KodoClient, Recorder], tmp_path: Path) -> None:
    client, rec = kodo
    path = _file(tmp_path, "e.bin", 2 * MIB + 1)
    st = os.stat(path)
    old = UploadState("v2", B, "e", MIB, st.st_size, st.st_mtime_ns, 1_000, upload_id="old-id")
    res = client.upload.upload_file(B, "e", path, threshold=MIB, part_size=MIB, resume=old)
    assert res.hash == etag_file_v2(path, MIB)
    assert rec.paths()[0].endswith("/uploads") and not any("old-id" in p for p in rec.paths())


def test_uploads_through_uc_discovery(emulator: Any, tmp_path: Path) -> None:
    client = KodoClient.discover("test-ak", "test-sk", uc=emulator.url)
    rec = Recorder()
    client.http.session.hooks["response"].append(rec)
    client.upload.upload_bytes(B, "d1", b"one")
    client.upload.upload_file(B, "d2", _file(tmp_path, "d2", 2 * MIB), threshold=MIB, part_size=MIB)
    assert rec.paths("/v4/query") == ["GET /v4/query"]
    assert client.rs.stat(B, "d2").fsize == 2 * MIB
    client.close()
