"""What a scenario is made of, and the loop that runs its sides alternately for N rounds.

A :class:`Side` is one way of doing the scenario's work (kodo-jobs, the SDK baseline, a raw
"limit"). Each round runs every side once, in turn, so slow drifts of this shared machine hit
all sides alike. A side either measures and verifies its result (raising
:class:`VerificationError` when the work was not done right), or says up front why it is not
available (a part of kodo-jobs that has not landed): that is reported as such, never as a figure.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.emulator import ACCESS_KEY, SECRET_KEY
from bench.measure import ProcResult, Summary, ratio


class VerificationError(AssertionError):
    """A side finished but its result is wrong (missing objects, wrong etags...)."""


@dataclass(frozen=True)
class BenchContext:
    """Settings shared by every scenario of one ``python -m bench`` invocation."""

    quick: bool
    rounds: int
    work: Path
    repo: Path
    timeout_s: float
    profile_dir: Path | None = None
    latency: str | None = None
    """Measured sides talk to an emulator started with ``--latency`` this (None: loopback)."""

    def maybe_profiled(self, argv: Sequence[str], label: str) -> list[str]:
        """With ``--profile DIR``, run a kodo-jobs CLI side under :mod:`bench.sampler`."""
        argv = list(argv)
        if self.profile_dir is None or argv[1:3] != ["-m", "kodo_jobs"]:
            return argv
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        return [argv[0], "-m", "bench.sampler", str(self.profile_dir / f"{label}.txt"), *argv[1:]]

    def side_env(self, tmp: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for a measured child: private TMPDIR (the SDK caches there), keys by env."""
        tmp.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QINIU_", "BENCH_"))}
        env.update({"TMPDIR": str(tmp), "BENCH_AK": ACCESS_KEY, "BENCH_SK": SECRET_KEY,
                    "PYTHONPATH": str(self.repo), "PYTHONDONTWRITEBYTECODE": "1",
                    "PYTHONWARNINGS": "ignore::DeprecationWarning"})
        env.update(extra or {})
        return env

    @property
    def python(self) -> str:
        return sys.executable


@dataclass(frozen=True, slots=True)
class Measurement:
    """One verified round of one side."""

    seconds: float
    cpu_s: float
    peak_rss_bytes: int
    emulator_cpu_s: float | None = None
    detail: str = ""


@dataclass
class Side:
    """One way of doing the work; ``run_once(round_index)`` measures and verifies one round."""

    name: str
    run_once: Callable[[int], Measurement]
    unavailable: Callable[[], str | None] = lambda: None


@dataclass
class SideReport:
    """All rounds of one side, or why there are none."""

    name: str
    status: str  # "ok" | "failed" | "unavailable"
    message: str = ""
    rounds: list[Measurement] = field(default_factory=list)

    def summary(self) -> Summary | None:
        return Summary.of([m.seconds for m in self.rounds]) if self.status == "ok" and self.rounds else None


@dataclass
class Check:
    """A target from the issue, evaluated on this run's figures."""

    label: str
    value: float | None  # None: could not be computed (a side missing)
    target: float
    higher_is_better: bool = True
    unit: str = "x"

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


@dataclass
class Part:
    """One measured comparison (a scenario has one or more)."""

    name: str
    title: str
    sides: list[SideReport]
    checks: list[Check] = field(default_factory=list)

    def side(self, name: str) -> SideReport:
        return next(s for s in self.sides if s.name == name)

    def median(self, name: str) -> float | None:
        summary = self.side(name).summary()
        return summary.median if summary else None

    def ratio_check(self, label: str, baseline: str, candidate: str, target: float) -> Check:
        """``baseline median / candidate median`` against a target (higher is better)."""
        b, c = self.median(baseline), self.median(candidate)
        check = Check(label, ratio(b, c) if b is not None and c is not None else None, target)
        self.checks.append(check)
        return check

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        for check, raw in zip(self.checks, doc["checks"], strict=True):
            raw["met"] = check.met
        for side, raw in zip(self.sides, doc["sides"], strict=True):
            summary = side.summary()
            raw["min_s"] = summary.min if summary else None
            raw["median_s"] = summary.median if summary else None
        return doc


def alternate(name: str, title: str, sides: Sequence[Side], rounds: int) -> Part:
    """Run every available side once per round, in turn; a failing side stops measuring."""
    reports = []
    for side in sides:
        reason = side.unavailable()
        reports.append(SideReport(side.name, "unavailable" if reason else "ok", reason or ""))
    for index in range(rounds):
        for side, report in zip(sides, reports, strict=True):
            if report.status != "ok":
                continue
            print(f"  [{name}] round {index + 1}/{rounds}: {side.name} ...", file=sys.stderr, flush=True)
            try:
                report.rounds.append(side.run_once(index))
            except Exception as exc:  # reported per side; the other sides still run
                report.status = "failed"
                report.message = f"{type(exc).__name__}: {exc}"[:2000]
                print(f"  [{name}] {side.name} FAILED: {report.message}", file=sys.stderr, flush=True)
    return Part(name, title, reports)


def require_ok(proc: ProcResult, what: str) -> None:
    """Raise with the child's output tail when it failed or timed out."""
    if proc.timed_out:
        raise VerificationError(f"{what} timed out after {proc.wall_s:.0f}s: {proc.tail()}")
    if proc.returncode != 0:
        raise VerificationError(f"{what} exited {proc.returncode}: {proc.tail()}")


def last_json_line(proc: ProcResult) -> dict[str, Any]:
    """The last stdout line that parses as a JSON object (the scripts' result line)."""
    for line in reversed(proc.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                doc: dict[str, Any] = json.loads(line)
                return doc
            except ValueError:
                continue
    raise VerificationError(f"no JSON result line in the output of {' '.join(proc.argv[:4])}")
