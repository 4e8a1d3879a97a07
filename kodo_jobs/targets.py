"""Manifest ``target:`` -> a Kodo client (and, for ``embedded: true``, the emulator behind it).

``embedded: true`` starts the emulator in this process with its data under ``.kodo-jobs/``
beside the manifest, fixed local-only keys, and buckets created on first use, so the quick
start needs no account. Keys from the manifest are registered with the log redactor before
anything can print them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kodo_jobs.errors import UsageError
from kodo_jobs.kodo.client import KodoClient
from kodo_jobs.kodo.config import Timeouts
from kodo_jobs.log import register_secret

EMBEDDED_DIR = ".kodo-jobs"
EMBEDDED_AK = "kodo-jobs-embedded-ak"
EMBEDDED_SK = "kodo-jobs-embedded-sk"  # local-only emulator key: not a secret


def _timeouts(target: Any) -> Timeouts:
    t = getattr(target, "timeouts", None)
    if t is None:
        return Timeouts()
    return Timeouts(connect=float(t.connect), read=float(t.read))


@contextmanager
def open_target(target: Any, manifest_dir: Path) -> Iterator[KodoClient]:
    """Yield a client for ``target``; the client (and an embedded emulator) is closed on exit."""
    timeouts = _timeouts(target)
    if getattr(target, "embedded", False):
        from kodo_jobs.emulator.config import EmulatorConfig
        from kodo_jobs.emulator.server import start_emulator

        config = EmulatorConfig(data_dir=manifest_dir / EMBEDDED_DIR, access_key=EMBEDDED_AK,
                                secret_key=EMBEDDED_SK, auto_create_buckets=True)
        running = start_emulator(config)
        try:
            with KodoClient.for_endpoint(running.url, EMBEDDED_AK, EMBEDDED_SK, timeouts=timeouts) as client:
                yield client
        finally:
            running.stop()
        return
    register_secret(target.access_key)
    register_secret(target.secret_key)
    ak = target.access_key.get_secret_value()
    sk = target.secret_key.get_secret_value()
    if target.endpoint is not None:
        client = KodoClient.for_endpoint(str(target.endpoint).rstrip("/"), ak, sk, timeouts=timeouts)
    elif target.region is not None:
        client = KodoClient.for_region(target.region, ak, sk, timeouts=timeouts)
    else:
        raise UsageError("target.hosts is not supported by this version yet; use endpoint or region")
    with client:
        yield client
