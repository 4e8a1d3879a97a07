"""The run pipeline: manifest -> plan -> execute -> report, one module per step.

Read in this order, after ``commands/run.py``: :mod:`.load` (``load_run`` -> ``RunSetup``: the
manifest, the jobs, the state file, the source of the actions), :mod:`.plan_job` (a job's
actions into the checkpoint), :mod:`.execute` (``execute_run``: the lock, the jobs in ``needs``
order, the executor), :mod:`.report` (what happened, for people and machines). Beside them, one
home per concept: :mod:`.shard`, :mod:`.saved_plan` (``plan -o`` / ``run --plan``),
:mod:`.limits` (run windows and pacing), :mod:`.targets` (the Kodo client for a manifest's
target), :mod:`.clock` (the server clock), :mod:`.plan_render` (a plan shown as text or JSON),
:mod:`.status` (what ``status`` reads from a state file).
"""
