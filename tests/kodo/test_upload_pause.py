"""``upload_file(should_stop=...)``: a chunked upload stops between parts on request.

The parts in flight finish and are reported through ``on_state``; ``UploadPaused`` follows;
a fresh client resumed from the last state sends only the rest (the emulator's byte counter
proves it) and the object is whole.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.kodo import UploadState, errors
from kodo_jobs.kodo.etag import etag_file, etag_file_v2

from .conftest import make_client

B = "test-bucket"
MIB = 1024 * 1024


class StopAfter:
    """``should_stop`` that says yes once ``n`` parts were reported finished; counts its calls."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.states: list[UploadState] = []
        self.calls = 0
        self._lock = threading.Lock()

    def on_state(self, state: UploadState) -> None:
        with self._lock:
            self.states.append(state)

    def __call__(self) -> bool:
        with self._lock:
            self.calls += 1
            return bool(self.states) and len(self.states[-1].parts) >= self.n


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_should_stop_pauses_then_resume_sends_only_the_rest(emulator: Any, tmp_path: Path,
                                                              version: Any) -> None:
    part = 4 * MIB if version == "v1" else MIB
    total_parts = 8
    size = (total_parts - 1) * part + 777
    path = tmp_path / "p.bin"
    path.write_bytes(os.urandom(size))
    stop = StopAfter(3)
    first, rec = make_client(emulator.url)
    with pytest.raises(errors.UploadPaused) as caught:
        first.upload.upload_file(B, "paused", path, version=version, threshold=MIB, part_size=part,
                                 part_concurrency=2, on_state=stop.on_state, should_stop=stop)
    with pytest.raises(errors.NotFound):  # never completed
        first.rs.stat(B, "paused")
    first.close()
    last = stop.states[-1]
    sent_parts = [p for p in rec.paths() if p.startswith("PUT") or "/mkblk/" in p]
    # every part that was started finished and was reported; nothing more was started
    assert len(sent_parts) == len(last.parts)
    assert 3 <= len(last.parts) <= 3 + 1 < total_parts  # stop seen after 3, at most one more in flight
    assert caught.value.done_bytes == last.bytes_done
    assert not isinstance(caught.value, errors.PermanentError | errors.RetryableError)

    missing = size - last.bytes_done
    before = emulator.stats()["bytes_received"]
    fresh, rec2 = make_client(emulator.url)
    res = fresh.upload.upload_file(B, "paused", path, version=version, threshold=MIB, part_size=part,
                                   part_concurrency=2, resume=UploadState.from_json(last.to_json()))
    fresh.close()
    sent = emulator.stats()["bytes_received"] - before
    assert res.hash == (etag_file(path) if version == "v1" else etag_file_v2(path, part))
    assert missing <= sent < missing + 64 * 1024
    resent = [p for p in rec2.paths() if p.startswith("PUT") or "/mkblk/" in p]
    assert len(resent) == total_parts - len(last.parts)


def test_stop_before_the_first_part_keeps_the_session(emulator: Any, tmp_path: Path) -> None:
    path = tmp_path / "s.bin"
    path.write_bytes(os.urandom(3 * MIB + 1))
    states: list[UploadState] = []
    client, rec = make_client(emulator.url)
    with pytest.raises(errors.UploadPaused):
        client.upload.upload_file(B, "s", path, threshold=MIB, part_size=MIB, on_state=states.append,
                                  should_stop=lambda: True)
    assert [p.split(" ")[0] for p in rec.paths()] == ["POST"]  # only the initiate
    assert len(states) == 1 and states[0].upload_id and not states[0].parts
    res = client.upload.upload_file(B, "s", path, threshold=MIB, part_size=MIB, resume=states[0])
    client.close()
    assert res.hash == etag_file_v2(path, MIB)
    assert all(states[0].upload_id in p for p in rec.paths()[1:])


def test_should_stop_is_asked_once_per_part_and_ignored_for_form_uploads(emulator: Any,
                                                                          tmp_path: Path) -> None:
    client, _ = make_client(emulator.url)
    big = tmp_path / "b.bin"
    big.write_bytes(os.urandom(5 * MIB + 9))
    never = StopAfter(10**6)
    client.upload.upload_file(B, "b", big, threshold=MIB, part_size=MIB, part_concurrency=3,
                              should_stop=never)
    assert never.calls == 6
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 100)
    res = client.upload.upload_file(B, "small", small, should_stop=lambda: True)
    client.close()
    assert res.hash == etag_file(small)
