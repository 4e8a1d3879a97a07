"""Scenario 7: one large file (1 GiB; quick: 32 MiB) on a flaky link (5% injected faults).

kodo-jobs (v2, 4 MiB parts, ``part_concurrency: 4``, the default retry policy) against the
official SDK's resumable upload (``put_file_v2``, 4 MiB parts, its own retry settings; called
again with its progress recorder when it gives up, as a user's script would, and the number of
calls reported). Both sides see the same fault rate and seed. Besides the time, each side's
bytes on the wire (the emulator's ``bytes_received``) over the file's size is reported.
Targets: kodo-jobs ends 0 on the first run and puts at most 1.15x the file on the wire (issue 22).
"""

from __future__ import annotations

from pathlib import Path

from bench import kj, trees
from bench.emulator import BUCKET, EmulatorProcess
from bench.measure import ProcResult
from bench.scenario import BenchContext, Check, Measurement, Part, Side, alternate, last_json_line
from bench.sides import against_emulator, bytes_received, expected_etags, kodo_jobs_argv, verify_bucket

FAULT_RATE = 0.05
FAULT_SEED = 7


def run(ctx: BenchContext) -> list[Part]:
    size = (32 if ctx.quick else 1024) * trees.MiB
    tree = trees.large_file(ctx.work / "trees" / f"large-{size}", size, seed=7)
    expected = expected_etags(tree)
    key = tree.keys[0]
    wire: dict[str, list[float]] = {"kodo-jobs": [], "sdk": []}

    def verify_for(side: str):  # type: ignore[no-untyped-def]
        def verify(emu: EmulatorProcess, proc: ProcResult) -> str:
            ratio = bytes_received(emu) / size
            wire[side].append(ratio)
            faults = emu.stats().get("faults_injected", 0)
            runs = last_json_line(proc).get("runs", 1) if side == "sdk" else 1
            calls = "first call" if runs == 1 else f"{runs} calls"
            return (f"{verify_bucket(emu, expected)}; {calls}; {ratio:.3f}x the file on the wire, "
                    f"{faults} faults injected")
        return verify

    def kj_once(index: int) -> Measurement:
        def argv(emu: EmulatorProcess, scratch: Path) -> list[str]:
            return kodo_jobs_argv(ctx, emu, scratch, {
                "name": "large", "kind": "sync", "source": str(tree.root), "bucket": BUCKET,
                "upload": {"resumable": "v2", "part_size": "4MiB", "part_concurrency": 4}})
        return against_emulator(ctx, f"flaky-kj-{index}", argv, verify_for("kodo-jobs"),
                                faults=(FAULT_RATE, FAULT_SEED + index))

    def sdk_once(index: int) -> Measurement:
        def argv(emu: EmulatorProcess, _scratch: Path) -> list[str]:
            return [ctx.python, "-m", "bench.baselines.sdk_flaky_large", emu.url, BUCKET, str(tree.root / key), key]
        return against_emulator(ctx, f"flaky-sdk-{index}", argv, verify_for("sdk"),
                                faults=(FAULT_RATE, FAULT_SEED + index))

    part = alternate("flaky-large", f"one {size // trees.MiB} MiB file, {FAULT_RATE:.0%} faults", [
        Side("kodo-jobs", kj_once, lambda: kj.emulator_missing() or kj.missing(commands=("run",), kinds=("sync",))),
        Side("sdk", sdk_once, kj.emulator_missing),
    ], ctx.rounds)
    part.ratio_check("sdk / kodo-jobs", "sdk", "kodo-jobs", 1.0)
    worst = max(wire["kodo-jobs"]) if part.side("kodo-jobs").status == "ok" and wire["kodo-jobs"] else None
    part.checks.append(Check("kodo-jobs bytes on the wire / file", worst, 1.15, higher_is_better=False))
    sdk_worst = max(wire["sdk"]) if part.side("sdk").status == "ok" and wire["sdk"] else None
    part.checks.append(Check("sdk bytes on the wire / file (for reference)", sdk_worst, 1.15,
                             higher_is_better=False))
    return [part]
