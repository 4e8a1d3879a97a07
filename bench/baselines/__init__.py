"""Plain official-SDK scripts (and raw "limit" scripts): what a user would write by hand.

Each is run as ``python -m bench.baselines.<name> ...`` in its own process; keys come from the
``BENCH_AK``/``BENCH_SK`` environment variables; the last stdout line is a JSON result.
"""
