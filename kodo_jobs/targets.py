"""Manifest ``target:`` -> a Kodo client (and, for ``embedded: true``, the emulator behind it).

``embedded: true`` starts the emulator in this process with its data under ``.kodo-jobs/``
beside the manifest, fixed local-only keys, and buckets created on first use, so the quick
start needs no account. Keys from the manifest are registered with the log redactor before
anything can print them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kodo_jobs.log import register_secret

EMBEDDED_DIR = ".kodo-jobs"
EMBEDDED_AK = "kodo-jobs-embedded-ak"
EMBEDDED_SK = "kodo-jobs-embedded-sk"  # local-only emulator key: not a secret


def _client_class() -> Any:
    return importlib.import_module("kodo_jobs.kodo").KodoClient


@contextmanager
def open_target(target: Any, manifest_dir: Path) -> Iterator[Any]:
    """Yield a client for ``target``; an embedded emulator is stopped on exit."""
    client_cls = _client_class()
    if getattr(target, "embedded", False):
        emu = importlib.import_module("kodo_jobs.emulator")
        config = emu.EmulatorConfig(
            data_dir=manifest_dir / EMBEDDED_DIR, access_key=EMBEDDED_AK, secret_key=EMBEDDED_SK,
            auto_create_buckets=True,
        )
        running = emu.start_emulator(config)
        try:
            yield client_cls.for_endpoint(running.url, EMBEDDED_AK, EMBEDDED_SK)
        finally:
            running.stop()
        return
    register_secret(target.access_key)
    register_secret(target.secret_key)
    ak = target.access_key.get_secret_value()
    sk = target.secret_key.get_secret_value()
    if target.endpoint is not None:
        yield client_cls.for_endpoint(str(target.endpoint).rstrip("/"), ak, sk)
    elif target.region is not None:
        yield client_cls.for_region(target.region, ak, sk)
    else:
        hosts = target.hosts
        factory = getattr(client_cls, "for_hosts", None)
        if factory is None:
            from kodo_jobs.errors import UsageError

            raise UsageError("target.hosts is not supported by this build's client; use endpoint or region")
        yield factory({k: str(v) for k, v in hosts.model_dump().items() if v is not None}, ak, sk)
