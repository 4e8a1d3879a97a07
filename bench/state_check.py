"""Cost of checking a state file on open: PRAGMA quick_check vs integrity_check (docs/bench.md).

    .venv/bin/python -m bench.state_check /tmp/big.kjstate 200000

Builds the file once (N planned actions plus N hash-cache rows), then times each pragma twice.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

from kodo_jobs.actions import Action
from kodo_jobs.executor.checkpoint import Checkpoint


def build(path: Path, n: int) -> None:
    """A state file shaped like a 200k-file sync: its plan and its hash cache."""
    def paths() -> list[str]:
        return [f"/srv/data/site/dir{i // 1000:04d}/file-{i:07d}.txt" for i in range(n)]

    with Checkpoint(path) as cp:
        cp.store_plan("site", (Action("site", "upload", p[15:], 1000 + i, params={"path": p, "mtime_ns": i})
                               for i, p in enumerate(paths())), gen="g")
        for i, p in enumerate(paths()):
            cp.remember_etag(p, 1000 + i, i, "Fto5o-5ea0sNMlW_75VgGJCv2AcJ")
        cp.flush()


def main() -> None:
    path, n = Path(sys.argv[1]), int(sys.argv[2])
    if not path.exists():
        build(path, n)
    print(f"{path}: {path.stat().st_size / 2**20:.1f} MiB")
    for pragma in ("quick_check", "integrity_check"):
        for _ in range(2):
            db = sqlite3.connect(path)
            t = time.perf_counter()
            result = db.execute(f"PRAGMA {pragma}").fetchall()
            print(f"PRAGMA {pragma}: {result[0][0]} in {time.perf_counter() - t:.3f} s")
            db.close()


if __name__ == "__main__":
    main()
