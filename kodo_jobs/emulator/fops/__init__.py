"""Simulated persistent data processing (pfop / prefop) for the emulator.

* ``commands.py``: the fop language (``parse_fops``, ``FopSpec``, ``FopError``) and each
  stage's deterministic stand-in output; pure.
* ``engine.py``: ``FopEngine``, jobs in SQLite and the worker that advances them, reaching
  objects through its ``ObjectAccess`` protocol.
"""
