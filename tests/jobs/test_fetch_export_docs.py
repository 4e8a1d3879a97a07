"""The fetch job's documented export-file formats match what :mod:`kodo_jobs.jobs.exports` writes.

The field descriptions (which become the schema and docs/manifest.md) once said the failure
file holds ``url<TAB>error``; it holds ``url<TAB>key<TAB>code<TAB>error``. This test reads the
formats from the field descriptions in the committed JSON Schema (generated from the model's
docstrings, and kept equal to a fresh generation by tests/manifest), writes lines the way the
fetch kind does, and compares the columns.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kodo_jobs.jobs.exports import ExportFiles

ROOT = Path(__file__).resolve().parents[2]


def _formats(field: str) -> list[list[str]]:
    """Every ``a<TAB>b`` format named in a field's description, as column-name lists."""
    schema = json.loads((ROOT / "schema" / "manifest.schema.json").read_text(encoding="utf-8"))
    text = schema["$defs"]["FetchJob"]["properties"][field].get("description", "")
    return [m.split("<TAB>") for m in re.findall(r"`([a-z-]+(?:<TAB>[a-z-]+)*)`", text)]


def test_documented_columns_are_the_written_columns(tmp_path: Path) -> None:
    exports = ExportFiles()
    ok, bad = tmp_path / "ok.tsv", tmp_path / "bad.tsv"
    # the fetch kind's columns: (url, key) for a URL, (key,) for a prefetch
    exports.success("r1", ok, ("http://127.0.0.1/a.jpg", "img/a.jpg"))
    exports.success("r1", ok, ("img/b.jpg",))
    exports.failure("r1", bad, ("http://127.0.0.1/c.jpg", "img/c.jpg"), 404, "not\tfound\nat origin")
    exports.failure("r1", bad, ("img/d.jpg",), None, "no mirror")
    written_ok = [line.split("\t") for line in ok.read_text(encoding="utf-8").splitlines()]
    written_bad = [line.split("\t") for line in bad.read_text(encoding="utf-8").splitlines()]

    assert _formats("success_file") == [["url", "key"], ["key"]]
    assert _formats("failure_file") == [["url", "key", "code", "error"], ["key", "code", "error"]]
    assert [len(c) for c in written_ok] == [len(f) for f in _formats("success_file")]
    assert [len(c) for c in written_bad] == [len(f) for f in _formats("failure_file")]
    assert written_bad[0] == ["http://127.0.0.1/c.jpg", "img/c.jpg", "404", "not found at origin"]
    assert written_bad[1] == ["img/d.jpg", "0", "no mirror"]


def test_docs_manifest_md_states_the_same_formats() -> None:
    doc = (ROOT / "docs" / "manifest.md").read_text(encoding="utf-8")
    row = next(line for line in doc.splitlines() if line.startswith("| `failure_file` |") and "url" in line)
    assert "`url<TAB>key<TAB>code<TAB>error`" in row
    assert "`url<TAB>error`" not in doc
