"""The bench's table: the full run prints verdicts against targets, the quick smoke run does not.

Quick sizes are far below the ones the targets were set for, so a "no" printed after a quick run
would only mislead (issue: "label the quick run a smoke test and print no verdicts").
"""

from __future__ import annotations

from bench.report import table
from bench.scenario import Check, Measurement, Part, SideReport


def _part() -> Part:
    side = SideReport(name="kodo-jobs", status="ok", rounds=[Measurement(seconds=1.0, cpu_s=0.5, peak_rss_bytes=10 << 20)])
    return Part(name="fresh-sync", title="t", sides=[side], checks=[Check(label="speed-up", value=1.2, target=2.0)])


def test_full_table_has_targets_and_verdicts() -> None:
    text = table([_part()])
    assert "| fresh-sync | speed-up | 1.20x | >= 2x | **no** |" in text


def test_quick_table_has_values_but_no_verdicts() -> None:
    text = table([_part()], verdicts=False)
    assert "| fresh-sync | speed-up | 1.20x |" in text
    assert "met" not in text and "**no**" not in text and ">= 2" not in text
