"""Keys and names are untrusted in every text output: a newline cannot forge a plan line, ANSI
escapes and bidi controls never reach the terminal; JSON stays exact (issue 15 item 6)."""

from __future__ import annotations

import json
from pathlib import Path

from kodo_jobs.kodo.client import KodoClient
from tests.e2e.sync_helpers import AK, BUCKET, SK, cli, make_tree, serve, sync_job, write_manifest

HOSTILE = {
    "forge\n  + site: upload totally-harmless.txt": "n",
    "red\x1b[31mtext\x1b]0;title\x07": "e",
    "invoice\u202efdp.exe": "b",
}
RAW = ("\x1b", "\x07", "\u202e")


def _clean(text: str) -> None:
    for ch in RAW:
        assert ch not in text, f"{ch!r} reached the terminal: {text!r}"


def test_text_plan_escapes_keys_and_json_keeps_them_exact(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        make_tree(tmp_path / "src", {"ok.txt": "ok", **HOSTILE})
        m = write_manifest(tmp_path, emu.url, sync_job())
        res = cli("plan", m)
        assert res.code == 0, res.err
        _clean(res.out)
        action_lines = [line for line in res.out.splitlines() if line.startswith("  + ")]
        assert len(action_lines) == 4, res.out  # one line per file, none forged
        assert "  + site: upload forge\\n  + site: upload totally-harmless.txt (1 B)" in action_lines
        assert "  + site: upload invoice\\u202efdp.exe (1 B)" in action_lines
        keys = {a["key"] for a in cli("plan", m, "--json").json()["actions"]}
        assert keys == {"ok.txt", *HOSTILE}


def test_run_summary_failure_lines_are_escaped(tmp_path: Path) -> None:
    with serve(tmp_path / "emu") as emu:
        bad = "../\x1b[2Jgone\u202e\nFAILED nothing"
        with KodoClient.for_endpoint(emu.url, AK, SK) as c:
            c.upload.upload_bytes(BUCKET, bad, b"x")
            c.upload.upload_bytes(BUCKET, "fine.txt", b"y")
        m = write_manifest(tmp_path, emu.url, sync_job("./out", direction="download"))
        report = tmp_path / "r.json"
        res = cli("run", m, "--report", report)
        assert res.code == 1, res.out + res.err
        _clean(res.out + res.err)
        failed = [line for line in res.out.splitlines() if "FAILED" in line]
        assert len(failed) == 1 and "../\\x1b[2Jgone\\u202e\\nFAILED nothing" in failed[0], res.out
        doc = json.loads(report.read_text())
        assert [f["key"] for j in doc["jobs"] for f in j["failures"]] == [bad]  # the report stays exact
