"""Render the results: a plain-text table for the terminal and docs/bench.md, plus JSON."""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections.abc import Sequence
from typing import Any

from bench.measure import fmt_mb, fmt_seconds
from bench.scenario import Part


def machine() -> dict[str, Any]:
    """Cores and CPU model (from /proc/cpuinfo), for the table's header."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def _flat(text: str, limit: int = 200) -> str:
    """One table cell: no newlines or pipes, bounded length."""
    flat = " ".join(text.split()).replace("|", "/")
    return flat if len(flat) <= limit else flat[:60] + " ... " + flat[-(limit - 65):]


def _cell(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def table(parts: Sequence[Part], *, verdicts: bool = True) -> str:
    """A Markdown table: one row per side, then the checks of each part.

    ``verdicts=False`` (the quick smoke run) leaves out the target and met columns: the quick
    sizes are too small for the targets, which are set for the full sizes, so a "no" there would
    say nothing about the product."""
    lines = ["| scenario | side | status | min | median | client CPU | client peak RSS | emulator CPU | detail |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for part in parts:
        for side in part.sides:
            summary = side.summary()
            if summary is None:
                lines.append(f"| {part.name} | {side.name} | {side.status}: {_flat(side.message)} "
                             "| - | - | - | - | - | |")
                continue
            med = sorted(side.rounds, key=lambda m: m.seconds)[len(side.rounds) // 2]
            emu = med.emulator_cpu_s
            lines.append(
                f"| {part.name} | {side.name} | ok | {fmt_seconds(summary.min)} | {fmt_seconds(summary.median)} "
                f"| {med.cpu_s:.2f}s | {fmt_mb(max(m.peak_rss_bytes for m in side.rounds))} "
                f"| {'-' if emu is None else f'{emu:.2f}s'} | {_flat(med.detail)} |")
    if not verdicts:
        lines += ["", "| scenario | check | value |", "| --- | --- | --- |"]
    else:
        lines += ["", "| scenario | check | value | target | met |", "| --- | --- | --- | --- | --- |"]
    for part in parts:
        for check in part.checks:
            value = f"{_cell(check.value)}{check.unit if check.value is not None else ''}"
            if not verdicts:
                lines.append(f"| {part.name} | {check.label} | {value} |")
                continue
            op = ">=" if check.higher_is_better else "<="
            met = {True: "yes", False: "**no**", None: "n/a"}[check.met]
            lines.append(f"| {part.name} | {check.label} | {value} | {op} {check.target:g}{check.unit} | {met} |")
    return "\n".join(lines)
