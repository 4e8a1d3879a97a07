"""What ``plan`` lists (issue 20): unchanged files are counted, and listed only with ``--all``
(``--json`` included); a saved plan (``-o``) keeps every action, unchanged ones too."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.sync_helpers import cli, make_tree, serve, sync_job, write_manifest


def test_unchanged_files_are_counted_and_listed_only_with_all(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_tree(src, {f"f{i:02d}.txt": str(i) for i in range(25)} | {"x.tmp": "t"})
    with serve(tmp_path / "data") as emu:
        m = write_manifest(tmp_path, emu.url, sync_job(str(src), exclude=["*.tmp"]))
        assert cli("run", m).code == 0
        (src / "f00.txt").write_text("changed")
        (src / "new.txt").write_text("n")
        doc = cli("plan", m, "--json").json()
        listed = cli("plan", m, "--json", "--all").json()
        text = cli("plan", m)
        saved = tmp_path / "saved.json"
        assert cli("plan", m, "-o", saved).code == 0
    assert doc["summary"]["same"]["count"] == 24 and doc["summary"]["skip"]["count"] == 1
    assert sorted((a["op"], a["key"]) for a in doc["actions"]) == [("update", "f00.txt"), ("upload", "new.txt")]
    assert listed["summary"] == doc["summary"]
    assert sorted(a["op"] for a in listed["actions"]).count("same") == 24
    assert {a["key"] for a in listed["actions"] if a["op"] == "skip"} == {"x.tmp"}
    assert text.code == 0 and "same" in text.out and "24" in text.out and "2 change(s)" in text.out
    kept = json.loads(saved.read_text())
    assert sorted(a["op"] for a in kept["actions"]).count("same") == 24  # a saved plan is the whole record
