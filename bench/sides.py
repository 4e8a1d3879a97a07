"""Helpers shared by scenarios: run one client process against a fresh emulator, verify buckets."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path

from bench import kj
from bench.emulator import ACCESS_KEY, BUCKET, SECRET_KEY, EmulatorProcess, fresh_data_dir
from bench.measure import ProcResult, run_measured
from bench.rawkodo import RawKodo
from bench.scenario import BenchContext, Measurement, VerificationError, require_ok
from bench.trees import Tree

ArgvFor = Callable[[EmulatorProcess, Path], Sequence[str]]
Verify = Callable[[EmulatorProcess, ProcResult], str]
Setup = Callable[[EmulatorProcess, Path], None]


def against_emulator(ctx: BenchContext, label: str, argv_for: ArgvFor, verify: Verify, *,
                     template: Path | None = None, setup: Setup | None = None,
                     env_extra: Mapping[str, str] | None = None,
                     faults: tuple[float, int] | None = None) -> Measurement:
    """Fresh data folder (empty or a copy of ``template``), emulator up, optional untimed
    ``setup``, then the measured client process, then ``verify``; everything cleaned up.

    ``faults``: (rate, seed) of injected faults while the client runs; they are switched off
    before ``verify``, which still sees the emulator's stats of the measured run."""
    scratch = ctx.work / "runs" / label
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    data = fresh_data_dir(scratch, "data", template)
    rate, seed = faults or (0.0, 0)
    with EmulatorProcess(data, scratch / "emulator.log", latency=ctx.latency, fault_rate=rate,
                         fault_seed=seed).start() as emu:
        if setup is not None:
            setup(emu, scratch)
        argv = ctx.maybe_profiled(argv_for(emu, scratch), label)
        cpu_before = emu.cpu_seconds()
        proc = run_measured(argv, cwd=ctx.repo, env=ctx.side_env(scratch / "tmp", env_extra),
                            timeout_s=ctx.timeout_s, log_dir=scratch, label="client")
        emulator_cpu = emu.cpu_seconds() - cpu_before
        require_ok(proc, label)
        if rate:
            emu.set_faults(0.0)
        detail = verify(emu, proc)
    shutil.rmtree(scratch, ignore_errors=True)
    return Measurement(seconds=proc.wall_s, cpu_s=proc.cpu_s, peak_rss_bytes=proc.peak_rss_bytes,
                       emulator_cpu_s=emulator_cpu, detail=detail)


def kodo_jobs_argv(ctx: BenchContext, emu: EmulatorProcess, scratch: Path, job: Mapping[str, object],
                   command: str = "run", *options: str) -> list[str]:
    """``python -m kodo_jobs COMMAND`` of a manifest holding ``job`` against ``emu``, its
    manifest and state file in ``scratch``."""
    manifest = kj.write_manifest(scratch / "bench.yaml", emu.url, [dict(job)])
    return [ctx.python, "-m", "kodo_jobs", command, str(manifest), *options, "--state", str(scratch / "state.kjstate")]


def warm_up(ctx: BenchContext, argv_for: ArgvFor) -> Setup:
    """An untimed first run of ``argv_for`` (as the previous cron run would), which must succeed."""

    def setup(emu: EmulatorProcess, scratch: Path) -> None:
        proc = run_measured(list(argv_for(emu, scratch)), cwd=ctx.repo, env=ctx.side_env(scratch / "tmp"),
                            timeout_s=ctx.timeout_s, log_dir=scratch, label="warmup")
        require_ok(proc, "kodo-jobs warm-up run")

    return setup


def sends_nothing(ctx: BenchContext, label: str, argv_for: ArgvFor, *, template: Path,
                  detail: Callable[[EmulatorProcess], str], setup: Setup | None = None) -> Measurement:
    """A measured no-op run: after the untimed ``setup``, the client may send no byte to the
    emulator; ``detail`` verifies the rest and describes the run."""
    received: list[int] = []

    def before(emu: EmulatorProcess, scratch: Path) -> None:
        if setup is not None:
            setup(emu, scratch)
        received.append(bytes_received(emu))

    def verify(emu: EmulatorProcess, _proc: ProcResult) -> str:
        sent = bytes_received(emu) - received[0]
        if sent:
            raise VerificationError(f"a no-op resync sent {sent} bytes to the emulator")
        return detail(emu)

    return against_emulator(ctx, label, argv_for, verify, template=template, setup=before)


def raw(emu: EmulatorProcess) -> RawKodo:
    return RawKodo(emu.url, ACCESS_KEY, SECRET_KEY)


@cache
def expected_etags(tree: Tree) -> dict[str, str]:
    """key -> qetag of every file in the tree, computed with the official SDK (the oracle)."""
    import qiniu

    return {key: str(qiniu.etag(str(tree.root / key))) for key in tree.keys}


def verify_bucket(emu: EmulatorProcess, expected: Mapping[str, str], prefix: str = "") -> str:
    """The bucket (under ``prefix``) holds exactly the expected keys with the expected hashes."""
    listed = {item.key: item.hash for item in raw(emu).list_all(BUCKET, prefix)}
    missing = [k for k in expected if k not in listed]
    extra = [k for k in listed if k not in expected]
    wrong = [k for k, h in expected.items() if k in listed and listed[k] != h]
    if missing or extra or wrong:
        raise VerificationError(
            f"bucket differs from the tree: {len(missing)} missing (e.g. {missing[:2]}), "
            f"{len(extra)} extra (e.g. {extra[:2]}), {len(wrong)} wrong hash (e.g. {wrong[:2]})")
    return f"{len(listed)} objects verified"


def verify_empty(emu: EmulatorProcess, prefix: str = "") -> str:
    left = sum(1 for _ in raw(emu).list_all(BUCKET, prefix))
    if left:
        raise VerificationError(f"{left} objects still under {prefix!r}")
    return "bucket empty"


def seeded_template(ctx: BenchContext, name: str, seed: Callable[[EmulatorProcess], None]) -> Path:
    """An emulator data folder seeded once per bench run; each side round gets a copy of it."""
    base = ctx.work / "templates" / name
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    data = base / "data"
    with EmulatorProcess(data, base / "emulator.log").start() as emu:
        seed(emu)
    return data


def bytes_received(emu: EmulatorProcess) -> int:
    """The emulator's ``bytes_received`` counter (DESIGN §7 stats contract)."""
    return int(emu.stats().get("bytes_received", 0))
