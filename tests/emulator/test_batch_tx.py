"""rs ``/batch`` runs in one SQLite transaction: per-op results and 298 stay as before, a failing
op undoes only itself, and blobs of deleted objects go only after the commit."""

from __future__ import annotations

import base64
import io
import random
from pathlib import Path
from urllib.parse import urlencode

import pytest

from kodo_jobs.emulator.db import Database
from kodo_jobs.emulator.errors import EmulatorError, NoSuchKey
from kodo_jobs.emulator.handlers.rs import execute, plain_batch_ops, run_batch
from kodo_jobs.emulator.server import RunningEmulator
from kodo_jobs.emulator.store import SqliteStore
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


# -- the bulk delete path (run_batch / SqliteStore.delete_many) gives what op-by-op execution gives ----

def _store(path: Path, clock: list[float]) -> SqliteStore:
    store = SqliteStore(Database(path), clock=lambda: clock[0])
    store.create_bucket(B)
    store.create_bucket("other")
    return store


def _one_by_one(store: SqliteStore, ops: list[str], now: float) -> list[dict[str, object]]:
    """The reference: every op through ``execute`` on its own (what /batch did before the bulk path)."""
    out: list[dict[str, object]] = []
    with store.db.batch():
        for op in ops:
            try:
                data = execute(store, op, now)
                out.append({"code": 200, "data": data} if data is not None else {"code": 200})
            except EmulatorError as err:
                out.append({"code": err.status, "data": {"error": err.message}})
    return out


def _state(store: SqliteStore) -> tuple[list[tuple[object, ...]], int]:
    rows = store.db.query("SELECT bucket, key, hash, expiration FROM objects ORDER BY bucket, key")
    return rows, sum(1 for p in store.db.objects_dir.rglob("*") if p.is_file())


def _random_ops(rng: random.Random, keys: list[str]) -> list[str]:
    def ent(bucket: str = B) -> str:
        return entry(bucket, rng.choice(keys))
    makers = [
        lambda: f"/delete/{ent()}", lambda: f"delete/{ent()}", lambda: f"/delete/{ent()}",
        lambda: f"/delete/{ent('other')}", lambda: f"/delete/{ent('nobucket')}",
        lambda: "/delete/" + entry(B, "")[:-4] + "!!!!",  # not base64
        lambda: "/delete/" + base64.urlsafe_b64encode(B.encode()).decode(),  # an entry without a key
        lambda: f"/copy/{ent()}/{ent()}/force/{rng.choice(['true', 'false'])}",
        lambda: f"/move/{ent()}/{ent('other')}/force/true",
        lambda: f"/stat/{ent()}", lambda: f"/deleteAfterDays/{ent()}/1",
        lambda: f"/delete/{ent()}/extra",  # not a plain delete: runs the general way
    ]
    ops: list[str] = []
    for _ in range(rng.randint(1, 40)):
        # now and then the same op twice in a row: a key deleted twice within one run of deletes
        ops.append(ops[-1] if ops and rng.random() < 0.15 else rng.choice(makers)())
    return ops


def test_bulk_deletes_match_op_by_op(tmp_path: Path) -> None:
    rng = random.Random(8)
    keys = [f"k{i}" for i in range(11)]
    clock = [1_700_000_000.0]
    for case in range(40):
        stores = [_store(tmp_path / f"{case}-{side}", clock) for side in ("bulk", "ref")]
        for store in stores:
            for i, key in enumerate(keys[:9]):
                store.put_object(B, key, io.BytesIO(b"x" * i), mime="a/b", fsize=i, hash=f"h{i}")
                store.put_object("other", key, io.BytesIO(b"y"), mime="a/b", fsize=1, hash="hy")
            store.set_delete_after_days(B, "k8", 1)  # expires once the clock moves on
        clock[0] = 1_700_000_000.0 + 3 * 86400  # k8 now reads as missing
        ops = _random_ops(rng, keys)
        with stores[0].db.batch():
            got, failed = run_batch(stores[0], ops, clock[0])
        want = _one_by_one(stores[1], ops, clock[0])
        assert got == want, ops
        assert failed == sum(1 for r in want if r["code"] != 200)
        assert _state(stores[0]) == _state(stores[1]), ops
        clock[0] = 1_700_000_000.0
        for store in stores:
            store.db.close()


def test_bulk_delete_keeps_bytes_of_copies(emulator: RunningEmulator) -> None:
    """Copies share bytes through hard links: deleting some names must leave the others readable."""
    _put(emulator, "src", b"shared bytes")
    copies = [f"c{i}" for i in range(5)]
    resp = mgmt(emulator, "POST", "/batch", data=urlencode([("op", f"/copy/{entry(B, 'src')}/{entry(B, c)}")
                                                           for c in copies]))
    assert [r["code"] for r in resp.json()] == [200] * 5
    dels = ["src", "c0", "c1", "c1", "c3"]
    resp = mgmt(emulator, "POST", "/batch", data=urlencode([("op", f"/delete/{entry(B, k)}") for k in dels]))
    assert resp.status_code == 298
    assert [r["code"] for r in resp.json()] == [200, 200, 200, 612, 200]
    assert sorted(o.key for o in emulator.store.list(B)[0]) == ["c2", "c4"]
    assert _blobs(emulator) == 2
    for key in ("c2", "c4"):
        with emulator.store.open_object(B, key) as f:
            assert f.read() == b"shared bytes"


def test_bulk_delete_rolls_back_with_the_batch(tmp_path: Path) -> None:
    """A batch whose body fails keeps every row and every blob (files go only after the commit)."""
    clock = [1_700_000_000.0]
    store = _store(tmp_path, clock)
    for key in ("a", "b"):
        store.put_object(B, key, io.BytesIO(b"z"), mime="a/b", fsize=1, hash="hz")
    with pytest.raises(RuntimeError), store.db.batch():
        run_batch(store, [f"/delete/{entry(B, 'a')}", f"/delete/{entry(B, 'b')}"], clock[0])
        raise RuntimeError("the request failed after the ops")
    assert _state(store) == ([(B, "a", "hz", None), (B, "b", "hz", None)], 2)
    errors = store.delete_many([(B, "a"), ("nobucket", "a"), (B, "a")])
    assert [e.status if e else 200 for e in errors] == [200, 631, 612]
    assert _state(store) == ([(B, "b", "hz", None)], 1)
    store.db.close()


def test_plain_batch_ops_read_like_the_form_parser() -> None:
    """The fast reading of a /batch body agrees with werkzeug's, or declines (None)."""
    from werkzeug.datastructures import MultiDict
    from werkzeug.formparser import parse_form_data
    from werkzeug.test import EnvironBuilder

    def werkzeug_ops(body: bytes) -> list[str]:
        env = EnvironBuilder(method="POST", data=body, content_type="application/x-www-form-urlencoded").get_environ()
        form: MultiDict[str, str] = parse_form_data(env)[1]
        return form.getlist("op")

    rng = random.Random(3)
    pieces = ["op=", "op", "=", "&", "&&", "x=", "%2F", "%3D", "%2f", "%41", "+", "a", "Zz09", "-_.~", "/", "op%3D", "é"]
    bodies = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    bodies.append(urlencode([("op", f"/delete/{entry(B, k)}") for k in ("a", "b/c", "d e", "f=g")]))
    declined = 0
    for text in bodies:
        body = text.encode()
        ours = plain_batch_ops(body)
        if ours is None:
            declined += 1
            continue
        assert ours == werkzeug_ops(body), text
    assert declined > 0 and len(bodies) - declined > 300  # both paths are exercised
