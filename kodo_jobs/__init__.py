"""kodo-jobs: a declarative, resumable job runner for Qiniu Kodo object storage.

Data flow (one package per stage)::

    pipeline/  load -> plan_job -> execute -> report: the run, step by step
    manifest/  YAML -> validated, immutable Manifest
    jobs/      spec + remote state -> actions (plan); action -> outcome (run)
    actions.py Action / Outcome values, the currency between the layers
    executor/  thread pool, retries, checkpoint, lock, progress

Foundations usable on their own: ``kodo/`` (the Kodo client) and ``emulator/`` (a local
Kodo-compatible server). Importing this package has no side effects.
"""

__version__ = "0.1.0"
