"""``kodo-jobs watch``: a resident sync that follows file-system events and stays correct when
events are lost.

Data flow, one module each: :mod:`.observe` (watchdog observers, their health, lost events)
-> :mod:`.events` (events -> touched paths) -> :mod:`.debounce` (coalesce, bounded) ->
:mod:`.quiet` (a file still being written waits) -> :mod:`.window` (rolling delete limit) ->
:mod:`.runner` (the one seam into the run machinery: one batch, lock held for life) ->
:mod:`.loop` (batches, full re-plans, signals, one log event per batch).
"""
