"""Scenarios 11-12 (issue 20): work over 1,000,000 listed keys streams (quick: 2,000).

* ``download-1m``: ``kodo-jobs run`` of a download sync of the 1,000,000-object bucket into a
  folder already holding the same files (the ``noop-1m`` tree and objects): every key is
  listed, walked, hashed (cold: no state) and compared; nothing is downloaded. Limit: walk +
  raw listing, for scale. Target: peak RSS < 150 MB. Verified: no object bytes were served.
* ``batch-select-1m``: ``kodo-jobs run`` of a batch job whose ``select`` lists the whole
  bucket and deletes every key (1,000 rs batches of 1,000). Target: peak RSS < 150 MB.
  Verified: the bucket is empty afterwards. Limit (for scale): the raw listing of the keys.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bench import kj
from bench.emulator import BUCKET, EmulatorProcess
from bench.measure import ProcResult
from bench.s8_scale import _rss_check, db_template, sizes, tiny_tree
from bench.scenario import BenchContext, Measurement, Part, Side, VerificationError, alternate, last_json_line
from bench.sides import against_emulator, kodo_jobs_argv, verify_empty


def _downloaded(emu: EmulatorProcess) -> int:
    return int(emu.stats().get("downloads", {}).get("bytes_total", 0))


def run_download(ctx: BenchContext) -> list[Part]:
    count = sizes(ctx.quick)[1]
    tree = tiny_tree(ctx, count)
    missing_emulator = kj.emulator_missing()
    ensure_template = cache(lambda: db_template(ctx, count))

    def verify(emu: EmulatorProcess, _proc: ProcResult) -> str:
        served = _downloaded(emu)
        if served:
            raise VerificationError(f"a no-op download sync fetched {served} bytes")
        return f"{count:,} keys compared, nothing downloaded"

    def kj_once(index: int) -> Measurement:
        def argv(emu: EmulatorProcess, scratch: Path) -> list[str]:
            return kodo_jobs_argv(ctx, emu, scratch, {"name": "down", "kind": "sync", "direction": "download",
                                                      "source": str(tree.root), "bucket": BUCKET})
        return against_emulator(ctx, f"download1m-kj-{index}", argv, verify, template=ensure_template())

    def limit_once(index: int) -> Measurement:
        return against_emulator(ctx, f"download1m-limit-{index}", lambda emu, _s: [
            ctx.python, "-m", "bench.baselines.limit_walk_list", emu.url, BUCKET, str(tree.root)],
            verify, template=ensure_template())

    part = alternate("download-1m", f"no-op download sync of {count:,} listed keys", [
        Side("kodo-jobs", kj_once, lambda: missing_emulator or kj.missing(commands=("run",), kinds=("sync",))),
        Side("limit", limit_once, lambda: missing_emulator),
    ], ctx.rounds)
    _rss_check(part)
    return [part]


def run_batch_select(ctx: BenchContext) -> list[Part]:
    count = sizes(ctx.quick)[1]
    missing_emulator = kj.emulator_missing()
    ensure_template = cache(lambda: db_template(ctx, count))

    def verify(emu: EmulatorProcess, _proc: ProcResult) -> str:
        return verify_empty(emu) + f" ({count:,} selected keys deleted)"

    def kj_once(index: int) -> Measurement:
        def argv(emu: EmulatorProcess, scratch: Path) -> list[str]:
            return kodo_jobs_argv(ctx, emu, scratch, {"name": "purge", "kind": "batch", "bucket": BUCKET,
                                                      "select": {"prefix": "a"}, "op": {"delete": {}}})
        return against_emulator(ctx, f"select1m-kj-{index}", argv, verify, template=ensure_template())

    def limit_verify(_emu: EmulatorProcess, proc: ProcResult) -> str:
        listed = last_json_line(proc)["listed"]
        if listed != count:
            raise VerificationError(f"the raw listing saw {listed} keys, not {count}")
        return f"{listed:,} keys listed"

    def limit_once(index: int) -> Measurement:
        empty = ctx.work / "trees" / "empty"
        empty.mkdir(parents=True, exist_ok=True)
        return against_emulator(ctx, f"select1m-limit-{index}", lambda emu, _s: [
            ctx.python, "-m", "bench.baselines.limit_walk_list", emu.url, BUCKET, str(empty)],
            limit_verify, template=ensure_template())

    part = alternate("batch-select-1m", f"batch delete of {count:,} keys selected from a listing", [
        Side("kodo-jobs", kj_once, lambda: missing_emulator or kj.missing(commands=("run",), kinds=("batch",))),
        Side("limit", limit_once, lambda: missing_emulator),
    ], ctx.rounds)
    _rss_check(part)
    return [part]
