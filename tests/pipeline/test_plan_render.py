"""Plan values and rendering: stable ids, changes, folding, JSON document shape."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kodo_jobs.actions import Action, OpCount
from kodo_jobs.pipeline.plan_render import JobPlan, Plan, render_text, summarise, write_json
from kodo_jobs.units import human_bytes


def _plan(actions: list[Action]) -> Plan:
    jobs: dict[str, list[Action]] = {}
    for a in actions:
        jobs.setdefault(a.job, []).append(a)
    return Plan("m.yaml", tuple(JobPlan(j, "sync", summarise(acts)) for j, acts in jobs.items()),
                lambda: iter(actions))


def test_id_is_stable_and_distinguishes_fields() -> None:
    a = Action("site", "upload", "a/b.txt", size=3, params={"path": "/x"})
    assert a.id == "site\x1fupload\x1fa/b.txt"
    assert a.id == Action("site", "upload", "a/b.txt", size=99).id  # params/size do not matter
    assert len({a.id, Action("site", "update", "a/b.txt").id, Action("other", "upload", "a/b.txt").id}) == 3


@pytest.mark.parametrize(("op", "changes"), [("upload", True), ("delete", True), ("same", False),
                                              ("skip", False), ("error", False), ("refresh", True)])
def test_changes(op: str, changes: bool) -> None:
    assert Action("j", op, "k").changes is changes


def test_action_is_frozen() -> None:
    a = Action("j", "upload", "k")
    with pytest.raises(AttributeError):
        a.key = "other"  # type: ignore[misc]


def test_text_folds_after_limit_and_hides_same() -> None:
    acts = [Action("site", "upload", f"k{i:03d}", size=1024) for i in range(30)]
    acts += [Action("site", "same", f"s{i}") for i in range(5)]
    out = io.StringIO()
    render_text(_plan(acts), out)
    text = out.getvalue()
    assert "upload           30" in text and "1.0 KiB" in text
    assert text.count("+ site: upload") == 20
    assert "10 more upload (use --all" in text
    assert "s0" not in text
    assert "30 change(s)" in text
    out_all = io.StringIO()
    render_text(_plan(acts), out_all, show_all=True)
    assert out_all.getvalue().count("+ site: upload") == 30 and "= site: same s4" in out_all.getvalue()


def test_json_document() -> None:
    acts = [Action("site", "upload", "ü/é #?%.txt", size=5, params={"path": "/p"}), Action("site", "same", "b")]
    out = io.StringIO()
    write_json(_plan(acts), out)
    doc = json.loads(out.getvalue())
    assert doc["manifest"] == "m.yaml"
    assert doc["jobs"] == [{"name": "site", "kind": "sync",
                            "summary": {"same": {"count": 1, "bytes": 0}, "upload": {"count": 1, "bytes": 5}}}]
    assert doc["summary"]["upload"] == {"count": 1, "bytes": 5}
    assert doc["changes"] == 1
    assert doc["actions"][0] == {"id": "site\x1fupload\x1fü/é #?%.txt", "job": "site", "op": "upload",
                                 "key": "ü/é #?%.txt", "size": 5, "phase": 0, "params": {"path": "/p"}}


def test_json_empty_plan() -> None:
    out = io.StringIO()
    write_json(Plan("m.yaml", (), lambda: iter(())), out)
    assert json.loads(out.getvalue())["actions"] == []


def test_plan_totals() -> None:
    p = Plan("m", (JobPlan("a", "sync", {"upload": OpCount(2, 10), "same": OpCount(3, 0)}),
                   JobPlan("b", "batch", {"upload": OpCount(1, 5)})), lambda: iter(()))
    assert p.summary["upload"] == OpCount(3, 15) and p.changes == 3


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (0, 1023, 1536, 64 << 20)] == ["0 B", "1023 B", "1.5 KiB", "64.0 MiB"]


def test_saved_plan_round_trip(tmp_path: Path) -> None:
    from kodo_jobs.pipeline.saved_plan import read_saved_plan


    acts = [Action("a", "upload", "line\nbreak \u00e9.txt", size=3, params={"p": 1}), Action("b", "delete", "x", phase=1)]
    p = Plan("m.yaml", (JobPlan("a", "sync", summarise(acts[:1])), JobPlan("b", "sync", summarise(acts[1:]))),
             lambda: iter(acts), manifest_sha="abc")
    path = tmp_path / "plan.json"
    with path.open("w", encoding="utf-8") as f:
        write_json(p, f)
    saved = read_saved_plan(path)
    assert saved.head["manifest_sha"] == "abc" and saved.jobs == ("a", "b")
    assert list(saved.actions()) == acts and list(saved.actions("b")) == acts[1:]
    bad = tmp_path / "bad.json"
    bad.write_text('{"jobs": []}\n')
    with pytest.raises(ValueError):
        read_saved_plan(bad)
