"""`kodo-jobs report merge R... -o OUT`: the shards' run reports as one (pipeline/report_merge.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from kodo_jobs.errors import EXIT_OK
from kodo_jobs.textsafe import escape_text


def merge(reports: list[Path], out: Path) -> int:
    """Merge and write; exit 0, or 2 when an input is not a report of the same manifest."""
    from kodo_jobs.pipeline.report_merge import merge_files

    merged = merge_files(reports, out)
    sys.stdout.write(f"kodo-jobs: merged {len(reports)} report(s) into {escape_text(str(out))}: "
                     f"{merged.status}, exit code {merged.exit_code}, {len(merged.jobs)} job(s)\n")
    return EXIT_OK
