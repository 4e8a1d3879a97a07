"""Trash keys of soft deletes: ``<trash_prefix><run id>/<key>``.

With ``soft_delete: {trash_prefix: ".trash/"}`` a sync or batch delete moves the object instead
of deleting it. The run id in the trash key keeps every deleted version: a key deleted, uploaded
again and deleted a week later lands under two different run ids instead of the second move
overwriting the first (moves into the trash are forced). Restoring is a ``batch`` ``move`` of
``.trash/<run id>/`` back to its keys; the run id is in the run's report and ``status``.

The run id is only known when a run starts, while ``plan`` (and a saved plan reviewed days
before) shows the trash key too; planners therefore write the placeholder :data:`RUN_ID`
(``{run_id}``) and executors substitute the actual id with :func:`resolve` right before moving.
"""

from __future__ import annotations

RUN_ID = "{run_id}"
"""Placeholder for the run id in a planned trash key."""


def planned_trash_key(trash_prefix: str, key: str) -> str:
    """The trash key as planned: ``<trash_prefix>{run_id}/<key>``."""
    return f"{trash_prefix}{RUN_ID}/{key}"


def resolve(trash_key: str, run_id: str) -> str:
    """The planned ``trash_key`` with its (first) placeholder replaced by ``run_id``."""
    return trash_key.replace(RUN_ID, run_id or "no-run-id", 1)


__all__ = ["RUN_ID", "planned_trash_key", "resolve"]
