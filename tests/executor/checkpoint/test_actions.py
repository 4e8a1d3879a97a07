"""Plan storage (actions, tallies), outcomes, status queries, memory."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kodo_jobs.actions import Action
from kodo_jobs.executor.checkpoint import Checkpoint

from ..fakes import actions


def test_status_rows_and_failure_query(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "s") as cp:
        acts = [Action("j", "upload", "a", 5), Action("j", "same", "b"),
                Action("j", "error", "c", params={"message": "unreadable"})]
        counts = cp.store_plan("j", acts, gen="g")
        assert counts["upload"].count == 1 and counts["upload"].bytes == 5
        c = cp.counts()["j"]
        assert c["upload"]["pending"] == 1 and c["same"]["skipped"] == 1 and c["error"]["failed"] == 1
        fails, total = cp.failures("j")
        assert total == 1 and fails[0].message == "unreadable"


def test_failed_plan_leaves_no_pending_rows(tmp_path: Path) -> None:
    def broken() -> object:
        yield from actions("j", 2500)
        raise RuntimeError("max_delete refused")

    with Checkpoint(tmp_path / "s") as cp:
        with pytest.raises(RuntimeError):
            cp.store_plan("j", broken(), gen="g")  # type: ignore[arg-type]
        assert cp.pending_count("j") == 0


def test_200k_plan_streams_in_bounded_memory(tmp_path: Path) -> None:
    """Storing and paging 200k actions keeps peak RSS far below 300 MB (child process, VmHWM).

    Peak RSS is read from ``/proc/self/status`` (VmHWM, the high-water mark of this process
    image) and not from ``getrusage``: Linux carries the parent's peak RSS over into a child's
    ``ru_maxrss`` across fork+exec, so a big pytest process would inflate the figure.
    """
    code = textwrap.dedent(f"""
        from pathlib import Path
        from kodo_jobs.executor.checkpoint import Checkpoint
        from kodo_jobs.actions import Action
        cp = Checkpoint(Path({str(tmp_path / 'big')!r}))
        gen = (Action("j", "upload", f"dir{{i // 1000:04d}}/file{{i:07d}}.jpg", size=i,
                      params={{"path": f"/src/dir/file{{i:07d}}.jpg", "mtime_ns": i}}) for i in range(200_000))
        cp.store_plan("j", gen, gen="g")
        n = 0
        after = 0
        while True:
            page = cp.pending_page("j", 0, after)
            if not page:
                break
            after = page[-1][0]
            n += len(page)
        hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
        print(n, int(hwm.split()[1]) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert int(out[0]) == 200_000
    assert int(out[1]) < 150, f"peak RSS {out[1]} MiB"


def test_resume_keeps_done_rows_of_the_unfinished_streak_only(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "s") as cp:
        acts = actions("j", 3)
        for run_id, status, sha in [("r1", "ok", "A"), ("r2", "interrupted", "A"), ("r3", "failed", "A")]:
            cp.begin_run(run_id, sha, ["j"], dry_run=False)
            cp.end_run(run_id, status, {})
        assert cp.unfinished_runs("A") == ["r3", "r2"]
        assert cp.unfinished_runs("B") == []  # another manifest version resumes nothing
        cp.store_plan("j", acts, gen="g1")
        from kodo_jobs.actions import Outcome

        cp.record(Outcome(acts[0].id, "done"), run_id="r1", attempts=1)  # an old, finished run
        cp.record(Outcome(acts[1].id, "done"), run_id="r2", attempts=1)  # the interrupted one
        cp.flush()
        cp.store_plan("j", acts, gen="g2", keep_done_of=cp.unfinished_runs("A"))
        c = cp.counts("j")["j"]["upload"]
        assert (c.get("done"), c.get("pending")) == (1, 2)


def _unchanged_plan() -> list[Action]:
    return ([Action("j", "upload", "a", 5, params={"path": "/a"})]
            + [Action("j", "same", f"s{i}", 10, params={"path": f"/s{i}"}) for i in range(300)]
            + [Action("j", "skip", "x", params={"reason": "filtered"}),
               Action("j", "error", "e", params={"message": "unreadable"})])


def test_a_run_counts_unchanged_actions_without_a_row_each(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "rows") as rows, Checkpoint(tmp_path / "tally") as tally:
        expected = rows.store_plan("j", _unchanged_plan(), gen="g")
        assert tally.store_plan("j", _unchanged_plan(), gen="g", unchanged_rows=False) == expected
        assert expected["same"].count == 300 and expected["same"].bytes == 3000
        # what report and status read is the same either way...
        assert tally.counts() == rows.counts()
        assert tally.counts("j")["j"]["same"] == {"skipped": 300, "bytes": 3000, "sent": 0}
        assert tally.counts("other") == {}
        # ...but only the actions that run or failed have rows
        assert sorted(a.op for a in tally.iter_actions()) == ["error", "upload"]
        assert len(list(rows.iter_actions())) == 303
        assert tally.pending_count("j") == 1 and tally.failed_count("j") == 1


def test_tallies_are_replaced_by_each_plan_and_cleared_with_the_job(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "s") as cp:
        cp.store_plan("j", _unchanged_plan(), gen="1", unchanged_rows=False)
        cp.store_plan("k", [Action("k", "same", "z", 1)], gen="1", unchanged_rows=False)
        cp.store_plan("j", [Action("j", "same", "only", 7)], gen="2", unchanged_rows=False)
        assert cp.counts()["j"] == {"same": {"skipped": 1, "bytes": 7, "sent": 0}}
        cp.store_plan("j", [Action("j", "upload", "u", 1)], gen="3", unchanged_rows=False)
        assert set(cp.counts()["j"]) == {"upload"}  # no tally left from the plan before

        def broken() -> object:
            yield Action("k", "same", "z", 1)
            raise RuntimeError("listing failed")

        with pytest.raises(RuntimeError):
            cp.store_plan("k", broken(), gen="2", unchanged_rows=False)  # type: ignore[arg-type]
        assert "k" not in cp.counts()  # a failed plan counts nothing, like it keeps no rows
        cp.store_plan("k", [Action("k", "same", "z", 1)], gen="3", unchanged_rows=False)
        cp.clear_job("k")
        assert "k" not in cp.counts()


def test_read_only_view_of_a_file_from_before_tallies(tmp_path: Path) -> None:
    p = tmp_path / "old"
    with Checkpoint(p) as cp:
        cp.store_plan("j", _unchanged_plan(), gen="g")
    with sqlite3.connect(p) as db:
        db.execute("DROP TABLE tallies")
    with Checkpoint(p, create=False, readonly=True) as ro:
        assert ro.counts()["j"]["same"]["skipped"] == 300
    with Checkpoint(p) as rw:  # a writer adds the table
        rw.store_plan("j", _unchanged_plan(), gen="h", unchanged_rows=False)
        assert rw.counts()["j"]["same"]["skipped"] == 300


def test_failure_messages_are_stored_redacted(tmp_path: Path) -> None:
    from kodo_jobs.actions import Outcome

    p = tmp_path / "s.kjstate"
    with Checkpoint(p) as cp:
        cp.store_plan("j", actions("j", 1), gen="g")
        a = actions("j", 1)[0]
        cp.record(Outcome(a.id, "failed", message="no answer: PUT http://admin:s3cretPW@127.0.0.1:9/x"),
                  run_id="r", attempts=1)
        cp.flush()
        failures, _ = cp.failures("j")
        on_disk = b"".join(f.read_bytes() for f in tmp_path.glob("s.kjstate*") if f.is_file())
    assert [f.message for f in failures] == ["no answer: PUT http://***@127.0.0.1:9/x"]
    assert b"s3cretPW" not in on_disk + p.read_bytes()
