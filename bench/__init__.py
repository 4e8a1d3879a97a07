"""Benchmarks: kodo-jobs against a plain official-SDK script on the same work.

Run ``python -m bench`` (full sizes, 3 rounds) or ``python -m bench --quick`` (small sizes, one
round, a smoke run that verifies every scenario). Every measured side is its own subprocess,
talking to its own emulator subprocess with a fresh data folder, so the client's CPU time and
peak RSS are the client's alone (see :mod:`bench.measure`) and the emulator's CPU time is
reported beside them (the "CPU split": both share this machine's cores).
"""
