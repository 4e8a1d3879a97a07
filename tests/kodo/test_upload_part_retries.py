"""Issue 22: each request of an upload retries on its own (against the in-process emulator).

* a part that keeps failing uses up its own attempts, never costs the parts in flight (each is
  sent once and reported through ``on_state``), and a later resume sends only that part;
* a part whose try failed on one upload host tries the next host (per part, not per file);
* every body that went on the wire is counted once per send (re-sends included) and
  ``on_progress`` counts each landed byte once.
"""

from __future__ import annotations

import os
import socket
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.kodo import KodoClient, UploadState, errors
from kodo_jobs.kodo.config import Credentials, Hosts
from kodo_jobs.kodo.etag import etag_file_v2
from kodo_jobs.kodo.retry import RetryPolicy
from kodo_jobs.kodo.upload.calls import CountedBody, RetryNotice

from .conftest import make_client

B = "test-bucket"
MIB = 1024 * 1024
NO_WAIT = RetryPolicy(attempts=3, initial_wait=0.0, max_wait=0.0, throttle_wait=0.0)


class PartFaults:
    """Wraps ``upload_part``: part ``bad`` fails ``times`` times with a 503; every call counted."""

    def __init__(self, client: KodoClient, bad: int, times: int) -> None:
        self.real: Callable[..., str] = client.upload.resumable.upload_part
        self.bad, self.left = bad, times
        self.calls: Counter[int] = Counter()
        self._lock = threading.Lock()
        client.upload.resumable.upload_part = self  # type: ignore[method-assign]

    def __call__(self, hosts: Any, token: str, bucket: str, key: str, upload_id: str, number: int,
                 data: bytes, **kw: Any) -> str:
        with self._lock:
            self.calls[number] += 1
            fail = number == self.bad and self.left > 0
            if fail:
                self.left -= 1
        if fail:
            raise errors.ServerError("injected by the test", status=503)
        return self.real(hosts, token, bucket, key, upload_id, number, data, **kw)


def _file(tmp_path: Path, parts: int, part: int = MIB) -> Path:
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(parts * part - 123))
    return path


def test_a_failing_part_uses_its_own_attempts_and_keeps_every_other_part(emulator: Any, tmp_path: Path) -> None:
    path = _file(tmp_path, 8)
    client, _ = make_client(emulator.url)
    faults = PartFaults(client, bad=3, times=100)
    states: list[UploadState] = []
    retries: list[RetryNotice] = []
    with pytest.raises(errors.ServerError) as caught:
        client.upload.upload_file(B, "k", path, threshold=MIB, part_size=MIB, part_concurrency=4,
                                  on_state=states.append, retry=NO_WAIT, on_retry=retries.append)
    assert caught.value.attempts == 3 and faults.calls[3] == 3
    assert [(n.part, n.attempt) for n in retries] == [(3, 1), (3, 2)]
    last = states[-1]
    # every part that was started besides part 3 was sent exactly once and is in the saved state
    started = set(faults.calls) - {3}
    assert started and all(faults.calls[n] == 1 for n in started)
    assert last.finished_numbers == started
    client.close()

    again, _ = make_client(emulator.url)
    resumed = PartFaults(again, bad=0, times=0)
    result = again.upload.upload_file(B, "k", path, threshold=MIB, part_size=MIB, part_concurrency=4,
                                      resume=last, retry=NO_WAIT)
    assert set(resumed.calls) == set(range(1, 9)) - started and all(v == 1 for v in resumed.calls.values())
    assert result.hash == etag_file_v2(path, MIB)
    again.close()


def test_a_part_that_fails_a_few_times_does_not_fail_the_file(emulator: Any, tmp_path: Path) -> None:
    path = _file(tmp_path, 6)
    client, _ = make_client(emulator.url)
    faults = PartFaults(client, bad=2, times=2)
    wire: list[int] = []
    landed: list[int] = []
    lock = threading.Lock()

    def on_wire(n: int) -> None:
        with lock:
            wire.append(n)

    emulator_before = _received(emulator)
    result = client.upload.upload_file(B, "k", path, threshold=MIB, part_size=MIB, part_concurrency=3,
                                       retry=NO_WAIT, on_wire=on_wire, on_progress=landed.append)
    assert result.hash == etag_file_v2(path, MIB)
    assert faults.calls == Counter({1: 1, 2: 3, 3: 1, 4: 1, 5: 1, 6: 1})
    size = path.stat().st_size
    assert sum(landed) == size
    # the injected failures never reached the server: exactly the parts went on the wire once,
    # which is what the server received besides the complete call's small JSON body
    assert sum(wire) == size
    assert 0 <= _received(emulator) - emulator_before - size < 4096
    client.close()


def _received(emulator: Any) -> int:
    return int(emulator.stats()["bytes_received"])


def test_a_try_that_failed_on_one_host_goes_to_the_next(emulator: Any, tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on: connection refused
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    hosts = Hosts.single(emulator.url).with_upload_override(dead, emulator.url)
    path = _file(tmp_path, 3)
    with KodoClient(Credentials("test-ak", "test-sk"), hosts) as client:
        with pytest.raises(errors.TransportError):  # one try per request: only the dead host
            client.upload.upload_file(B, "k", path, threshold=MIB, part_size=MIB, retry=RetryPolicy.once())
        retries: list[RetryNotice] = []
        result = client.upload.upload_file(B, "k", path, threshold=MIB, part_size=MIB, part_concurrency=3,
                                           retry=NO_WAIT, on_retry=retries.append)
    assert result.hash == etag_file_v2(path, MIB)
    # initiate, then each of the 3 parts, then complete: each failed once on the dead host
    assert sorted((n.part or 0, n.attempt) for n in retries) == [(0, 1), (0, 1), (1, 1), (2, 1), (3, 1)]
    assert all(isinstance(n.error, errors.TransportError) for n in retries)


def test_counted_body_counts_each_send_after_it_left() -> None:
    seen: list[int] = []
    body = CountedBody(b"x" * (2 * MIB + 5), seen.append)
    assert len(body) == 2 * MIB + 5
    assert sum(len(b) for b in body) == 2 * MIB + 5 and sum(seen) == 2 * MIB + 5
    assert sum(len(b) for b in body) == 2 * MIB + 5 and sum(seen) == 2 * (2 * MIB + 5)  # a re-send counts
    partial = iter(body)
    next(partial)  # handed over, but the send failed before the next block was asked for
    assert sum(seen) == 2 * (2 * MIB + 5)


def test_of_several_failed_parts_a_run_fatal_error_is_the_one_raised(emulator: Any, tmp_path: Path) -> None:
    path = _file(tmp_path, 4)
    client, _ = make_client(emulator.url)
    real = client.upload.resumable.upload_part
    gate = threading.Barrier(2, timeout=30)  # parts 1 and 2 are both in flight before either fails

    def upload_part(hosts: Any, token: str, bucket: str, key: str, upload_id: str, number: int,
                    data: bytes, **kw: Any) -> str:
        if number in (1, 2):
            gate.wait()
            if number == 1:
                raise errors.ServerError("part 1 out of attempts", status=503)
            raise errors.Unauthorized("token refused", status=401)
        return real(hosts, token, bucket, key, upload_id, number, data, **kw)

    client.upload.resumable.upload_part = upload_part  # type: ignore[method-assign]
    with pytest.raises(errors.Unauthorized):
        client.upload.upload_file(B, "k", path, threshold=MIB, part_size=MIB, part_concurrency=4,
                                  retry=RetryPolicy.once())
    client.close()
