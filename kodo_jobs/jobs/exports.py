"""Success and failure export files, written like qshell's so a rerun can take just the failures.

* success file: ``url<TAB>key`` (fetch) or ``key`` / ``src<TAB>dst`` (batch);
* failure file: the same columns, then ``<TAB>code<TAB>error``.

Both are valid input files again (extra columns are ignored by :mod:`kodo_jobs.jobs.keys`),
so ``urls_file: failures.txt`` retries exactly what failed. Tabs and line breaks inside an
error message are replaced by spaces so one failure stays one line.

A file is truncated the first time a run writes to it and appended to afterwards, so it holds
the results of the latest run only (and a rerun may read the file it is about to rewrite:
planning reads inputs completely before any action runs). Thread-safe: workers append
concurrently.
"""

from __future__ import annotations

import threading
from pathlib import Path


def _clean(text: str) -> str:
    return " ".join(text.replace("\t", " ").splitlines()).strip()


class ExportFiles:
    """Appends result lines to per-run files, truncating each file once per run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: set[tuple[str, Path]] = set()

    def _append(self, run_id: str, path: Path, line: str) -> None:
        with self._lock:
            mark = (run_id, path.resolve())
            mode = "a" if mark in self._started else "w"
            self._started.add(mark)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open(mode, encoding="utf-8") as out:
                out.write(line + "\n")

    def start(self, run_id: str, path: Path) -> None:
        """Truncate ``path`` now if this run has not written to it yet (an empty result is a result)."""
        with self._lock:
            mark = (run_id, path.resolve())
            if mark in self._started:
                return
            self._started.add(mark)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("", encoding="utf-8")

    def success(self, run_id: str, path: Path, columns: tuple[str, ...]) -> None:
        """Record a success: the input columns."""
        self._append(run_id, path, "\t".join(columns))

    def failure(self, run_id: str, path: Path, columns: tuple[str, ...], code: int | None, error: str) -> None:
        """Record a failure: the input columns, the code (0 when none) and the one-line error."""
        self._append(run_id, path, "\t".join((*columns, str(code or 0), _clean(error))))
