"""The run pipeline: manifest -> plan -> execute -> report, one module per step.

Read in this order: :mod:`.load` (manifest, jobs, state path), :mod:`.plan_job` (a job's
actions into the checkpoint), :mod:`.execute` (the actions carried out), :mod:`.report` (what
happened, for people and machines). Beside them, one home per concept: :mod:`.shard`,
:mod:`.saved_plan` (``plan -o`` / ``run --plan``), :mod:`.limits` (run windows and pacing),
:mod:`.targets` (the Kodo client for a manifest's target), :mod:`.clock` (the server clock),
:mod:`.plan_render` (a plan shown as text or JSON).
"""
