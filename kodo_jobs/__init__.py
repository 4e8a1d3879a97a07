"""kodo-jobs: a declarative, resumable job runner for Qiniu Kodo object storage.

Data flow (one package per stage)::

    manifest/  YAML -> validated, immutable Manifest
    jobs/      spec + remote state -> actions (plan); action -> outcome (run)
    plan.py    Action / Plan values, rendering
    executor/  thread pool, retries, checkpoint, lock, progress
    report.py  outcomes -> report, exit code

Foundations usable on their own: ``kodo/`` (the Kodo client) and ``emulator/`` (a local
Kodo-compatible server). Importing this package has no side effects.
"""

__version__ = "0.1.0"
