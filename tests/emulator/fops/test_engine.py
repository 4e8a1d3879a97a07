"""The pfop job engine over a recording in-memory ``ObjectAccess``: lifecycle, saveas, force,
notify failures, a crashing store, and jobs that resume after a restart."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
import qiniu
from qiniu.utils import etag_stream

from kodo_jobs.emulator.fops.commands import Content, FopError
from kodo_jobs.emulator.fops.engine import (
    DONE,
    FAILED,
    NOTIFY_FAILED,
    PROCESSING,
    WAITING,
    FopEngine,
    StoredObject,
)


class MemObjects:
    """A recording in-memory ObjectAccess."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], StoredObject] = {}
        self.writes: list[tuple[str, str]] = []

    def read_object(self, bucket: str, key: str) -> StoredObject | None:
        return self.objects.get((bucket, key))

    def write_object(self, bucket: str, key: str, data: bytes, mime: str, delete_after_days: int | None) -> str:
        h = etag_stream(io.BytesIO(data))
        self.objects[(bucket, key)] = StoredObject(Content.of(data, mime), h)
        self.writes.append((bucket, key))
        return h

    def bucket_exists(self, bucket: str) -> bool:
        return bucket in ("src", "out")


def _wait_done(engine: FopEngine, job: str) -> dict[str, object]:
    for _ in range(200):
        status = engine.status(job)
        assert status is not None
        if status["code"] not in (WAITING, PROCESSING):
            return status
        time.sleep(0.01)
    raise AssertionError("job did not finish")


def test_engine_lifecycle_saveas_force_and_unknown(tmp_path: Path) -> None:
    objects = MemObjects()
    objects.objects[("src", "a.mp4")] = StoredObject(Content.of(b"movie", "video/mp4"), "Fhash")
    notes: list[tuple[str, bytes]] = []
    engine = FopEngine(tmp_path / "s.db", objects, lambda u, b: notes.append((u, b)) or True,
                            step_seconds=0.01)
    entry = qiniu.urlsafe_base64_encode("out:a.jpg")
    job = engine.submit("src", "a.mp4", f"vframe/jpg/offset/1|saveas/{entry};bogus/1;avinfo",
                        notify_url="http://127.0.0.1:1/n")
    first = engine.status(job)
    assert first is not None and first["code"] == WAITING
    done = _wait_done(engine, job)
    assert done["code"] == FAILED  # one item failed
    items = done["items"]
    assert isinstance(items, list)
    assert items[0]["code"] == 0 and items[0]["key"] == "a.jpg" and items[0]["returnOld"] == 0
    assert items[1]["code"] == 3 and "unsupported fop" in items[1]["error"]
    assert items[2]["code"] == 0 and items[2]["result"]["fop"] == "avinfo"
    assert objects.writes == [("out", "a.jpg")]
    assert len(notes) == 1 and json.loads(notes[0][1])["id"] == job
    # Same target again without force: old result returned, nothing written.
    again = _wait_done(engine, engine.submit("src", "a.mp4", f"vframe/jpg/offset/1|saveas/{entry}"))
    assert again["items"][0]["returnOld"] == 1 and objects.writes == [("out", "a.jpg")]  # type: ignore[index]
    forced = _wait_done(engine, engine.submit("src", "a.mp4", f"vframe/jpg/offset/1|saveas/{entry}", force=True))
    assert forced["items"][0]["returnOld"] == 0 and len(objects.writes) == 2  # type: ignore[index]
    with pytest.raises(FopError) as missing:
        engine.submit("src", "nope", "avinfo")
    assert missing.value.status == 612
    engine.stop()
    # Persisted: a new engine on the same file still knows the job.
    reopened = FopEngine(tmp_path / "s.db", objects, lambda u, b: True)
    assert (reopened.status(job) or {})["code"] == FAILED
    reopened.stop()


def test_engine_notify_failure_sets_code_4(tmp_path: Path) -> None:
    objects = MemObjects()
    objects.objects[("src", "k")] = StoredObject(Content.of(b"x", "text/plain"), "Fh")
    engine = FopEngine(tmp_path / "s.db", objects, lambda u, b: False, step_seconds=0.01)
    done = _wait_done(engine, engine.submit("src", "k", "md2html", notify_url="http://127.0.0.1:1/"))
    assert done["code"] == NOTIFY_FAILED
    engine.stop()


# -- CDN ----------------------------------------------------------------------------------------


def test_engine_survives_a_crashing_store(tmp_path: Path) -> None:
    objects = MemObjects()
    objects.objects[("src", "k")] = StoredObject(Content.of(b"x", "video/mp4"), "Fh")

    def broken(*args: object) -> str:
        raise OSError("disk full")

    objects.write_object = broken  # type: ignore[method-assign]
    engine = FopEngine(tmp_path / "s.db", objects, lambda u, b: True, step_seconds=0.01)
    failed = _wait_done(engine, engine.submit("src", "k", "md2html"))
    assert failed["code"] == FAILED and "disk full" in failed["items"][0]["error"]  # type: ignore[index]
    still = _wait_done(engine, engine.submit("src", "k", "avinfo"))
    assert still["code"] == DONE
    engine.stop()


def test_unfinished_jobs_resume_after_a_restart(tmp_path: Path) -> None:
    objects = MemObjects()
    objects.objects[("src", "k")] = StoredObject(Content.of(b"x", "text/plain"), "Fh")
    slow = FopEngine(tmp_path / "s.db", objects, lambda u, b: True, step_seconds=60)
    slow.start()
    job = slow.submit("src", "k", "md2html|saveas/" + qiniu.urlsafe_base64_encode("out:k.html"))
    assert (slow.status(job) or {})["code"] == WAITING
    slow.stop()
    assert objects.writes == []
    fast = FopEngine(tmp_path / "s.db", objects, lambda u, b: True, step_seconds=0.01)
    fast.start()
    assert _wait_done(fast, job)["code"] == DONE
    assert objects.writes == [("out", "k.html")]
    fast.stop()
