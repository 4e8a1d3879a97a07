"""Errors that cross the command boundary, and the exit code each one means.

Tree::

    KodoJobsError                 exit 1 unless a subclass says otherwise
    ├── ManifestError             exit 2  invalid manifest (kodo_jobs.manifest.errors)
    ├── UsageError                exit 2  bad command line / input outside the manifest
    │   └── JobInputError         exit 2  one job's input (source folder, keys file): the others still run
    ├── StateFileError            exit 2  corrupt or foreign checkpoint file
    ├── LockHeld                  exit 3  another run holds the state file's lock
    ├── RunAborted                exit 1  a run-wide failure (bad credentials, missing bucket)
    └── Interrupted               exit 130 SIGINT/SIGTERM, state saved

Workers never call ``sys.exit``; ``kodo_jobs.error_handler`` is the only place that maps
these classes to exit codes.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_LOCKED = 3
EXIT_CHANGES = 4  # opt-in "plan has changes" (plan --exit-code); 2 is taken by invalid input
EXIT_INTERRUPTED = 130


class KodoJobsError(Exception):
    """Root of every error kodo-jobs reports to the user; ``exit_code`` says how it ends."""

    exit_code: int = EXIT_FAILED


class UsageError(KodoJobsError):
    """The command line or an input outside the manifest is wrong (exit 2)."""

    exit_code = EXIT_INVALID


class JobInputError(UsageError):
    """One job cannot start because of its own input (a missing source folder, an unreadable keys
    file). Only that job fails, with this message as its note, printed once; the jobs that do not
    need it still run, and the run exits 2 (invalid input) at the end."""


class StateFileError(KodoJobsError):
    """The checkpoint file is corrupt or belongs to something else; it is never discarded (exit 2)."""

    exit_code = EXIT_INVALID


class LockHeld(KodoJobsError):
    """Another run holds the lock of this state file (exit 3)."""

    exit_code = EXIT_LOCKED


class RunAborted(KodoJobsError):
    """A failure that makes every further action pointless, such as bad credentials (exit 1)."""

    exit_code = EXIT_FAILED


class Interrupted(KodoJobsError):
    """The run was interrupted by SIGINT/SIGTERM after saving its state (exit 130)."""

    exit_code = EXIT_INTERRUPTED
