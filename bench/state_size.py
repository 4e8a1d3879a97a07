"""Cost of keeping the state file small: hash-cache pruning and VACUUM (docs/bench.md).

    .venv/bin/python -m bench.state_size /tmp/kj-size 100000

Builds a state file with N hash-cache rows (paths of a sync tree) in the folder given, then
times: the steady-state prune check (nothing stale: one count), a real prune (1% of the files
gone: the walked paths loaded into a temporary table), and a VACUUM after a first sync's
N-action plan was replaced by a small one (what ``end_run`` does when most pages are free).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kodo_jobs.actions import Action
from kodo_jobs.executor.checkpoint import Checkpoint

ROOT = "/srv/data/site"


def _path(i: int) -> str:
    return f"{ROOT}/dir{i // 1000:04d}/file-{i:07d}.txt"


def main() -> None:
    folder, n = Path(sys.argv[1]), int(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "size.kjstate"
    for old in folder.glob("size.kjstate*"):
        old.unlink()
    with Checkpoint(path) as cp:
        cp.begin_run("r1", "sha", ["site"], dry_run=False)
        cp.store_plan("site", (Action("site", "upload", _path(i)[len(ROOT) + 1:], 1000 + i,
                                      params={"path": _path(i), "mtime_ns": i}) for i in range(n)), gen="g1")
        for i in range(n):
            cp.remember_etag(_path(i), 1000 + i, i, "Fto5o-5ea0sNMlW_75VgGJCv2AcJ")
        cp.end_run("r1", "ok", {})
        info = cp.size_info()
        print(f"built: {info.file_bytes / 2**20:.1f} MiB on disk, {info.hash_cache_rows} hash rows, "
              f"{info.actions_rows} actions")

        t = time.perf_counter()
        dropped = cp.prune_hash_cache(ROOT, (_path(i) for i in range(n)), n)
        print(f"prune, steady state (nothing stale): {(time.perf_counter() - t) * 1e3:.1f} ms, dropped {dropped}")
        gone = set(range(0, n, 100))
        t = time.perf_counter()
        dropped = cp.prune_hash_cache(ROOT, (_path(i) for i in range(n) if i not in gone), n - len(gone))
        print(f"prune, 1% of the files gone: {(time.perf_counter() - t) * 1e3:.1f} ms, dropped {dropped}")

        cp.begin_run("r2", "sha", ["site"], dry_run=False)
        cp.store_plan("site", [Action("site", "upload", "one", 1, params={"path": "/x"})], gen="g2")
        before = cp.size_info()
        t = time.perf_counter()
        cp.end_run("r2", "ok", {})
        after = cp.size_info()
        print(f"end_run with VACUUM: {(time.perf_counter() - t) * 1e3:.0f} ms; "
              f"{before.file_bytes / 2**20:.1f} MiB ({before.free_bytes / 2**20:.1f} MiB free) -> "
              f"{after.file_bytes / 2**20:.1f} MiB")
        t = time.perf_counter()
        for k in range(200):
            cp.begin_run(f"q{k}", "sha", ["site"], dry_run=False)
            cp.end_run(f"q{k}", "ok", {"jobs": []})
        print(f"begin_run + end_run (compaction and the free-page check): "
              f"{(time.perf_counter() - t) / 200 * 1e3:.2f} ms each")


if __name__ == "__main__":
    main()
