"""batch: keys files (pure parsing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kodo_jobs.errors import EXIT_INVALID
from kodo_jobs.jobs.keys import InputFileError, KeyLine, parse_keys, read_keys_file


def test_single_keys_skip_blank_and_comment_lines_and_keep_spaces() -> None:
    lines = ["a.txt\n", "\n", "   \n", "# comment\n", "  # indented comment\n", "with space .txt\r\n", "b\textra\n"]
    assert parse_keys(lines, pairs=False, source="k.txt") == [
        KeyLine(1, "a.txt"), KeyLine(6, "with space .txt"), KeyLine(7, "b", "extra"),
    ]


def test_pairs() -> None:
    assert parse_keys(["a\tb\n", "c/d\te/f"], pairs=True, source="p") == [KeyLine(1, "a", "b"), KeyLine(2, "c/d", "e/f")]


def test_errors_are_located_by_line_and_all_reported() -> None:
    lines = ["ok\tfine", "missing-tab", "x\ty\tz", "\tempty-src", "long\t" + "k" * 751]
    with pytest.raises(InputFileError) as info:
        parse_keys(lines, pairs=True, source="moves.tsv")
    assert info.value.exit_code == EXIT_INVALID
    assert info.value.problems == [
        "moves.tsv:2: expected 'src<TAB>dst', found no tab",
        "moves.tsv:3: expected 'src<TAB>dst', found 3 columns",
        "moves.tsv:4: empty key",
        "moves.tsv:5: key longer than 750 bytes",
    ]


def test_read_keys_file_missing_and_crlf(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="file not found"):
        list(read_keys_file(tmp_path / "nope.txt", pairs=False))  # streamed: raised when read
    path = tmp_path / "keys.txt"
    path.write_bytes(b"k1\r\nk\xc2\x852\r\n\r\n")  # U+0085 inside a key must not split the line
    assert [k.key for k in read_keys_file(path, pairs=False)] == ["k1", "k\u00852"]


# -- planning and running against a recording fake client --------------------------------------

from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from kodo_jobs.actions import ERROR_OP, Action  # noqa: E402
from kodo_jobs.jobs.base import JobContext  # noqa: E402
from kodo_jobs.jobs.batch import KIND, build_op, is_destructive  # noqa: E402
from kodo_jobs.kodo.rs import BatchOp, BatchResult  # noqa: E402
from kodo_jobs.manifest.spec_batch import BatchJob  # noqa: E402


@dataclass(frozen=True)
class Listed:
    key: str
    fsize: int = 1
    mime_type: str = "text/plain"
    put_time_100ns: int = 0
    type: int = 0


@dataclass
class FakeRs:
    codes: dict[str, list[int]] = field(default_factory=dict)  # key -> codes answered in turn
    batches: list[list[BatchOp]] = field(default_factory=list)

    def batch(self, batch_ops: list[BatchOp]) -> list[BatchResult]:
        self.batches.append(list(batch_ops))
        out = []
        for op in batch_ops:
            queue = self.codes.get(op.key, [])
            code = queue.pop(0) if queue else 200
            data: dict[str, Any] = {} if code == 200 else {"error": f"code {code}"}
            if code == 200 and op.command.startswith("stat/"):
                data = {"fsize": 3, "hash": "Fh", "mimeType": "text/plain", "putTime": 1}
            out.append(BatchResult(op=op, code=code, data=data, reqid="rq"))
        return out


@dataclass
class FakeRsf:
    entries: list[Listed]
    prefixes: list[str] = field(default_factory=list)
    read_ahead: bool = False

    def list(self, bucket: str, *, prefix: str = "", read_ahead: bool = False) -> Any:
        self.prefixes.append(prefix)
        self.read_ahead = read_ahead
        return (e for e in self.entries if e.key.startswith(prefix))


@dataclass
class FakeClient:
    rs: FakeRs = field(default_factory=FakeRs)
    rsf: FakeRsf = field(default_factory=lambda: FakeRsf([]))


class NoState:
    def etag_for(self, *a: Any) -> None: return None
    def remember_etag(self, *a: Any) -> None: return None
    def load_upload(self, *a: Any) -> None: return None
    def save_upload(self, *a: Any) -> None: return None
    def drop_upload(self, *a: Any) -> None: return None
    def get_value(self, *a: Any) -> None: return None
    def set_value(self, *a: Any) -> None: return None


def job(**kw: Any) -> BatchJob:
    return BatchJob.model_validate({"name": "j", "kind": "batch", "bucket": "media", **kw})


def ctx_for(spec: BatchJob, client: FakeClient, run_id: str = "r1") -> JobContext:
    return JobContext(client=client, spec=spec, state=NoState(), run_id=run_id)


def test_plan_keys_file_pairs_and_derived_destinations(tmp_path: Path) -> None:
    keys = tmp_path / "moves.tsv"
    keys.write_text("old/a.txt\tnew/x.txt\nold/b.txt\n# c\nother/c.txt\n", encoding="utf-8")
    spec = job(keys_file=str(keys), op={"move": {"bucket": "archive", "strip_prefix": "old/", "dest_prefix": "2024/"}})
    actions = list(KIND.plan(spec, ctx_for(spec, FakeClient())))
    assert [(a.op, a.key, a.phase, dict(a.params)) for a in actions] == [
        ("move", "old/a.txt", 1, {"line": 1, "dest_bucket": "archive", "dest_key": "new/x.txt"}),
        ("move", "old/b.txt", 1, {"line": 2, "dest_bucket": "archive", "dest_key": "2024/b.txt"}),
        (ERROR_OP, "other/c.txt", 0, {"line": 4, "message": f"{keys}:4: key does not start with strip_prefix 'old/'"}),
    ]


def test_plan_rename_regex_and_unchanged_keys_are_skipped() -> None:
    spec = job(keys=["a.JPG", "b.jpg"], op={"rename": {"regex": r"\.JPG$", "replacement": ".jpg"}})
    actions = list(KIND.plan(spec, ctx_for(spec, FakeClient())))
    assert [(a.op, a.key, a.params.get("dest_key")) for a in actions] == [
        ("rename", "a.JPG", "a.jpg"), (ERROR_OP, "b.jpg", None),
    ]


def test_select_lists_only_the_prefix_and_filters() -> None:
    client = FakeClient(rsf=FakeRsf([Listed("logs/a.log"), Listed("logs/b.txt"), Listed("x/c.log")]))
    spec = job(select={"prefix": "logs/", "suffix": ".log"}, op={"chtype": {"type": "ia"}})
    actions = list(KIND.plan(spec, ctx_for(spec, client)))
    assert [(a.op, a.key, a.phase) for a in actions] == [("chtype", "logs/a.log", 0)]
    assert client.rsf.prefixes == ["logs/"]
    assert client.rsf.read_ahead  # the next page is fetched while this one is planned


def test_select_by_prefix_alone_keeps_every_listed_entry() -> None:
    client = FakeClient(rsf=FakeRsf([Listed("logs/a.log"), Listed("logs/b.txt"), Listed("x/c.log")]))
    spec = job(select={"prefix": "logs/"}, op={"delete": {}})
    actions = list(KIND.plan(spec, ctx_for(spec, client)))
    assert [(a.op, a.key, a.phase) for a in actions] == [("delete", "logs/a.log", 1), ("delete", "logs/b.txt", 1)]


@pytest.mark.parametrize(
    ("op", "destructive"),
    [
        ({"delete": {}}, True), ({"move": {"bucket": "other"}}, True), ({"copy": {"bucket": "other"}}, False),
        ({"copy": {"bucket": "other", "force": True}}, True), ({"deleteAfterDays": {"days": 3}}, True),
        ({"expire": {"days": 0}}, False), ({"chstatus": {"status": 1}}, True), ({"chstatus": {"status": 0}}, False),
        ({"lifecycle": {"delete_after_days": 30}}, True), ({"lifecycle": {"to_ia_after_days": 30}}, False),
        ({"stat": {}}, False), ({"chgm": {"mime": "text/plain"}}, False), ({"restoreAr": {"days": 2}}, False),
    ],
)
def test_destructive_ops(op: dict[str, Any], destructive: bool) -> None:
    assert is_destructive(job(keys=["k"], op=op)) is destructive


@pytest.mark.parametrize(("max_ops", "trips"), [(3, False), (2, True), ("60%", False), ("50%", True), (0, True)])
def test_max_ops_guard(max_ops: object, trips: bool) -> None:
    client = FakeClient(rsf=FakeRsf([Listed(f"t/{i}") for i in range(5)]))
    spec = job(select={"prefix": "t/", "glob": "t/[012]"}, op={"delete": {}}, max_ops=max_ops)
    actions = list(KIND.plan(spec, ctx_for(spec, client)))
    deletes = [a for a in actions if a.op == "delete"]
    assert len(deletes) == 3 and all(a.phase == 1 for a in deletes)
    errors = [a for a in actions if a.op == ERROR_OP]
    if trips:
        assert len(errors) == 1 and errors[0].phase == 0
        assert "3 delete operations exceed max_ops" in errors[0].params["message"]
        assert "raise max_ops" in errors[0].params["message"]
    else:
        assert errors == []


def test_non_destructive_ops_ignore_max_ops() -> None:
    spec = job(keys=["a", "b", "c"], op={"stat": {}}, max_ops=1)
    assert [a.op for a in KIND.plan(spec, ctx_for(spec, FakeClient()))] == ["stat"] * 3


def test_run_chunks_by_batch_size_and_maps_per_op_results() -> None:
    client = FakeClient()
    client.rs.codes = {"k1": [599], "k2": [612], "k3": [614], "k4": [573]}
    spec = job(keys=[f"k{i}" for i in range(5)], op={"delete": {}}, batch_size=2)
    actions = [a for a in KIND.plan(spec, ctx_for(spec, client)) if a.op == "delete"]
    outcomes = KIND.run(actions, ctx_for(spec, client, run_id="run-a"))
    assert [len(b) for b in client.rs.batches] == [2, 2, 1]
    got = {o.action_id.split("\x1f")[-1]: (o.status, o.code) for o in outcomes}
    assert got == {
        "k0": ("done", None), "k1": ("pending", 599), "k2": ("skipped", 612),  # already deleted
        "k3": ("failed", 614), "k4": ("pending", 573),
    }


def test_retryable_op_fails_with_its_code_on_the_last_attempt() -> None:
    client = FakeClient()
    spec = job(keys=["k"], op={"chtype": {"type": 1}}, retry={"attempts": 2})
    action = next(iter(KIND.plan(spec, ctx_for(spec, client))))
    client.rs.codes = {"k": [503, 503]}
    first = KIND.run([action], ctx_for(spec, client, run_id="run-b"))[0]
    second = KIND.run([action], ctx_for(spec, client, run_id="run-b"))[0]
    assert (first.status, second.status, second.code) == ("pending", "failed", 503)
    assert "after 2 attempts" in second.message


def test_stat_results_and_soft_delete_ops() -> None:
    client = FakeClient()
    spec = job(keys=["a"], op={"stat": {}})
    out = KIND.run(list(KIND.plan(spec, ctx_for(spec, client))), ctx_for(spec, client))
    assert out[0].result == {"fsize": 3, "hash": "Fh", "mimeType": "text/plain", "putTime": 1}
    trash = job(keys=["a", ".trash/b"], op={"delete": {}}, soft_delete={"trash_prefix": ".trash/"})
    planned = list(KIND.plan(trash, ctx_for(trash, client)))
    assert [(a.op, a.key) for a in planned] == [("delete", "a"), ("skip", ".trash/b")]
    assert build_op(trash, planned[0]).command.startswith("move/")
    expire = job(keys=["a"], op={"delete": {}}, soft_delete={"delete_after_days": 7})
    op = build_op(expire, next(iter(KIND.plan(expire, ctx_for(expire, client)))))
    assert op.command.startswith("deleteAfterDays/") and op.command.endswith("/7")


def test_build_op_covers_every_op() -> None:
    cases = {
        "copy": {"copy": {"bucket": "other", "force": True, "dest_prefix": "new/"}}, "chgm": {"chgm": {"mime": "a/b", "metadata": {"k": "v"}}},
        "chstatus": {"chstatus": {"status": 1}}, "restoreAr": {"restoreAr": {"days": 2}},
        "lifecycle": {"lifecycle": {"to_ia_after_days": 5}}, "deleteAfterDays": {"deleteAfterDays": {"days": 1}},
    }
    for name, op in cases.items():
        spec = job(keys=["a"], op=op)
        # the fake stats every key as existing with one hash: the copy's destination must be
        # missing (612), else a forced copy onto the same content is planned as a skip
        action = next(iter(KIND.plan(spec, ctx_for(spec, FakeClient(FakeRs(codes={"new/a": [612]}))))))
        assert isinstance(action, Action)
        command = build_op(spec, action).command
        assert command.startswith(name + "/"), command
    assert build_op(job(keys=["a"], op=cases["copy"]),
                    Action("j", "copy", "a", params={"dest_bucket": "other", "dest_key": "a"})).command.endswith("/force/true")
