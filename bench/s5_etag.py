"""Scenario 5: etag of one large file and of many small files.

Compared with the ceiling (read + raw ``hashlib.sha1`` over the same bytes) and with
``qiniu.etag``. Targets: kodo-jobs >= 0.9 of raw sha1 throughput on the large file (ratio
raw time / kodo-jobs time), and the small-file case parallelised across cores. Each side times
itself inside its process; trees are warm in the page cache (just written, then read once).
"""

from __future__ import annotations

from pathlib import Path

from bench import kj, trees
from bench.measure import run_measured
from bench.scenario import (
    BenchContext,
    Measurement,
    Part,
    Side,
    VerificationError,
    alternate,
    last_json_line,
    require_ok,
)

METHODS = ("kodo-jobs", "raw-sha1", "qiniu.etag")


def _warm(paths: list[Path]) -> None:
    for path in paths:
        with path.open("rb", buffering=0) as fh:
            while fh.read(8 * 1024 * 1024):
                pass


def _part(ctx: BenchContext, part: str, target: Path, title: str) -> Part:
    digests: dict[str, str] = {}

    def side(method: str) -> Side:
        def once(index: int) -> Measurement:
            label = f"etag-{part}-{method}-{index}"
            arg = {"raw-sha1": "raw", "qiniu.etag": "qiniu"}.get(method, method)
            proc = run_measured([ctx.python, "-m", "bench.etag_probe", arg, part, str(target)],
                                cwd=ctx.repo, env=ctx.side_env(ctx.work / "runs" / label / "tmp"),
                                timeout_s=ctx.timeout_s, log_dir=ctx.work / "runs" / label, label="client")
            require_ok(proc, label)
            doc = last_json_line(proc)
            if method != "raw-sha1":
                digests.setdefault(method, doc["digest"])
                if digests[method] != doc["digest"] or len(set(digests.values())) > 1:
                    raise VerificationError(f"etags differ from the SDK's: {digests} vs {doc['digest']}")
            return Measurement(seconds=float(doc["seconds"]), cpu_s=proc.cpu_s,
                               peak_rss_bytes=proc.peak_rss_bytes,
                               detail=f"{doc['files']} files, {doc['bytes'] / 1e6:.0f} MB, "
                                      f"{doc['bytes'] / float(doc['seconds']) / 1e9:.2f} GB/s")
        unavailable = (lambda: kj.missing(attrs=(("kodo_jobs.kodo.etag", "etag_file"),))) \
            if method == "kodo-jobs" else (lambda: None)
        return Side(method, once, unavailable)

    result = alternate(f"etag-{part}", title, [side(m) for m in METHODS], ctx.rounds)
    return result


def run(ctx: BenchContext) -> list[Part]:
    big_size = (64 if ctx.quick else 1024) * trees.MiB
    small_count = 1000 if ctx.quick else 10_000
    big = trees.large_file(ctx.work / "trees" / f"etag-big-{big_size}", big_size, seed=5)
    small = trees.small_files(ctx.work / "trees" / f"etag-small-{small_count}", small_count,
                              1 * trees.KiB, 64 * trees.KiB, seed=55)
    _warm([big.root / big.keys[0]])
    _warm([small.root / k for k in small.keys])
    big_part = _part(ctx, "big", big.root / big.keys[0], f"etag of one {big_size // trees.MiB} MiB file")
    big_part.ratio_check("raw sha1 time / kodo-jobs time (throughput share)", "raw-sha1", "kodo-jobs", 0.9)
    big_part.ratio_check("qiniu.etag / kodo-jobs", "qiniu.etag", "kodo-jobs", 1.0)
    small_part = _part(ctx, "small", small.root, f"etag of {small_count:,} files of 1-64 KiB")
    small_part.ratio_check("qiniu.etag / kodo-jobs", "qiniu.etag", "kodo-jobs", 1.0)
    small_part.ratio_check("raw sha1 (1 thread) / kodo-jobs: >1 means parallel", "raw-sha1", "kodo-jobs", 1.3)
    return [big_part, small_part]
