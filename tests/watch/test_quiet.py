"""A file still being written waits; size/mtime are checked again before it is let through."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kodo_jobs.watch.quiet import QuietGate


def test_recently_modified_files_wait_and_quiet_ones_go(tmp_path: Path) -> None:
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("x")
    new.write_text("y")
    os.utime(old, (time.time() - 60, time.time() - 60))
    gate = QuietGate(str(tmp_path), debounce=5.0)
    ready, waiting = gate.split(frozenset({"old.txt", "new.txt", "gone.txt"}), time.time())
    assert ready == {"old.txt", "gone.txt"} and waiting == {"new.txt"}


def test_a_file_that_changed_since_it_was_last_seen_waits_again(tmp_path: Path) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(b"a")
    gate = QuietGate(str(tmp_path), debounce=1.0)
    now = time.time()
    assert gate.split(frozenset({"f.bin"}), now)[1] == {"f.bin"}  # just written
    f.write_bytes(b"ab")  # grew meanwhile; then the clock says it is old enough
    os.utime(f, (now - 30, now - 30))
    assert gate.split(frozenset({"f.bin"}), now + 10)[1] == {"f.bin"}  # size changed since last seen
    assert gate.split(frozenset({"f.bin"}), now + 20)[0] == {"f.bin"}  # unchanged since: quiet
