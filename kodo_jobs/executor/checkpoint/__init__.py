"""The checkpoint: one SQLite file (WAL, mode 0600) per manifest, one class in front of it.

:class:`Checkpoint` (:mod:`.core`) composes the tables, each a module that owns its SQL:
:mod:`.database` (connection, format and damage checks, grouped commits), :mod:`.runs`,
:mod:`.actions` (+ ``tallies``), :mod:`.uploads`, :mod:`.hash_cache`, :mod:`.kv`; and
:mod:`.view` has :class:`ReadThroughState`, the view ``plan`` gives the jobs. The file stays
small over years of cron runs: the run history is compacted at the end of each run and the
hash cache pruned after each full walk (``docs/operations-at-scale.md``).
"""

from kodo_jobs.errors import StateFileError
from kodo_jobs.executor.checkpoint.actions import PAGE, PLAN_TXN, Counts, Failure
from kodo_jobs.executor.checkpoint.core import Checkpoint
from kodo_jobs.executor.checkpoint.database import FORMAT, SCHEMA_VERSION, damaged, state_file_errors
from kodo_jobs.executor.checkpoint.runs import (
    KEEP_FULL_RUNS,
    KEEP_RUNS,
    SUMMARY_RETENTION,
    RunRecord,
    Summary,
)
from kodo_jobs.executor.checkpoint.schema import SizeInfo
from kodo_jobs.executor.checkpoint.view import ReadThroughState

__all__ = [
    "FORMAT", "KEEP_FULL_RUNS", "KEEP_RUNS", "PAGE", "PLAN_TXN", "SCHEMA_VERSION", "SUMMARY_RETENTION",
    "Checkpoint", "Counts", "Failure", "ReadThroughState", "RunRecord", "SizeInfo", "StateFileError",
    "Summary", "damaged", "state_file_errors",
]
