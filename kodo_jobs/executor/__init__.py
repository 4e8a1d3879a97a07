"""The executor: checkpoint, lock, retry policy, runner, events and progress.

It knows actions and outcomes (``kodo_jobs.actions``), not job kinds or manifests: the command
layer hands it each kind's ``run`` as a callable.
"""
