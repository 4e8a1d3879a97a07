"""rs ``/batch`` runs in one SQLite transaction: per-op results and 298 stay as before, a failing
op undoes only itself, and blobs of deleted objects go only after the commit."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlencode

import pytest

from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.errors import NoSuchKey
from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator.helpers import entry, mgmt

B = "test-bucket"


def _put(emulator: RunningEmulator, key: str, data: bytes) -> None:
    emulator.store.put_object(B, key, io.BytesIO(data), mime="application/octet-stream", fsize=len(data),
                              hash=f"h-{key}")


def _blobs(emulator: RunningEmulator) -> int:
    return sum(1 for p in emulator.store.db.objects_dir.rglob("*") if p.is_file())


def test_batch_results_and_partial_failure(emulator: RunningEmulator) -> None:
    for key in ("a", "b", "c"):
        _put(emulator, key, key.encode())
    ops = [f"/delete/{entry(B, 'a')}", f"/delete/{entry(B, 'missing')}", f"/move/{entry(B, 'b')}/{entry(B, 'b2')}",
           f"/move/{entry(B, 'c')}/{entry(B, 'b2')}/force/false", f"/copy/{entry(B, 'c')}/{entry(B, 'c2')}",
           f"/stat/{entry(B, 'c2')}", f"/delete/{entry(B, 'a')}"]
    resp = mgmt(emulator, "POST", "/batch", data=urlencode([("op", op) for op in ops]))
    assert resp.status_code == 298, resp.text
    codes = [r["code"] for r in resp.json()]
    assert codes == [200, 612, 200, 614, 200, 200, 612]
    assert resp.json()[5]["data"]["fsize"] == 1
    keys = sorted(o.key for o in emulator.store.list(B)[0])
    assert keys == ["b2", "c", "c2"]
    assert _blobs(emulator) == 3  # a's blob removed after the commit, none leaked
    with emulator.store.open_object(B, "b2") as f:
        assert f.read() == b"b"


def test_all_ok_batch_is_200(emulator: RunningEmulator) -> None:
    for i in range(30):
        _put(emulator, f"k{i}", b"x")
    resp = mgmt(emulator, "POST", "/batch", data=urlencode([("op", f"/delete/{entry(B, f'k{i}')}") for i in range(30)]))
    assert resp.status_code == 200
    assert [r["code"] for r in resp.json()] == [200] * 30
    assert emulator.store.count_objects() == 0
    assert _blobs(emulator) == 0


def test_database_batch_savepoints(tmp_path: Path) -> None:
    db = Database(tmp_path)
    done: list[str] = []
    with db.batch():
        with db.tx() as c:
            c.execute("INSERT INTO meta (name, value) VALUES ('x', '1')")
        with pytest.raises(NoSuchKey), db.tx() as c:
            c.execute("INSERT INTO meta (name, value) VALUES ('y', '1')")
            raise NoSuchKey()
        db.after_commit(lambda: done.append("ran"))
        assert done == []  # deferred until the commit
    assert done == ["ran"]
    assert db.one("SELECT value FROM meta WHERE name = 'x'") == ("1",)
    assert db.one("SELECT value FROM meta WHERE name = 'y'") is None
    with pytest.raises(RuntimeError), db.batch():
        with db.tx() as c:
            c.execute("INSERT INTO meta (name, value) VALUES ('z', '1')")
        db.after_commit(lambda: done.append("must not run"))
        raise RuntimeError("body failed")
    assert db.one("SELECT value FROM meta WHERE name = 'z'") is None
    assert done == ["ran"]
    db.after_commit(lambda: done.append("now"))  # outside a batch: at once
    assert done == ["ran", "now"]
    db.close()
