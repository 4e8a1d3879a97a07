"""The single error boundary: exceptions -> one message line + an exit code.

Every CLI command runs inside :func:`boundary`. Known errors print their message (which is
written to carry the fix) to stderr; unexpected errors print one crash line, and the traceback
only when ``KODO_JOBS_DEBUG=1``. No traceback is ever shown for bad input.

The boundary is also the command run's scope for secrets: it installs a fresh
:class:`~kodo_jobs.log.Redactor` (:func:`~kodo_jobs.log.redaction`) for the command and its own
error message, so secrets registered by one command never mask another's output in the same
process.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

from kodo_jobs.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, KodoJobsError
from kodo_jobs.log import redact_text, redaction
from kodo_jobs.textsafe import escape_lines


def boundary(command: Callable[[], int], after: Callable[[int], None] | None = None) -> int:
    """Run ``command`` with its own secret redactor and turn whatever it raises into an exit code.

    ``after(exit_code)`` runs next, in the same redaction scope, whatever way the command ended
    (a run's metrics file and failure notification, see ``pipeline/run_extras.py``); what it
    raises is reported like the command's own errors but never changes the exit code."""
    with redaction():
        code = _guarded(command)
        if after is not None:
            _guarded(lambda: _then(after, code))
        return code


def _then(after: Callable[[int], None], code: int) -> int:
    after(code)
    return code


def _guarded(command: Callable[[], int]) -> int:
    try:
        return command()
    except KodoJobsError as exc:
        message = str(exc)
        if message:  # messages quote keys, paths and URLs: redacted, escaped (our own newlines kept)
            sys.stderr.write(escape_lines(redact_text(message.rstrip("\n"))) + "\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - this is the boundary
        sqlite3 = sys.modules.get("sqlite3")  # loaded only if something opened a database
        if sqlite3 is not None and isinstance(exc, sqlite3.DatabaseError):
            # the commands name their state file (executor.checkpoint.state_file_errors); this is
            # the net under them: damaged data is invalid input, never an "internal error"
            sys.stderr.write(f"kodo-jobs: database error ({type(exc).__name__}: {escape_lines(redact_text(str(exc)))}); "
                             "if the state file is damaged, move it away (or pass --state PATH) to start afresh\n")
            return EXIT_INVALID
        return _crash(exc)


def _crash(exc: Exception) -> int:
    sys.stderr.write(f"kodo-jobs: internal error: {type(exc).__name__}: {escape_lines(redact_text(str(exc)))}\n")
    if os.environ.get("KODO_JOBS_DEBUG") == "1":
        traceback.print_exception(exc)
    else:
        sys.stderr.write("(set KODO_JOBS_DEBUG=1 for the traceback, and please report it)\n")
    return EXIT_FAILED
