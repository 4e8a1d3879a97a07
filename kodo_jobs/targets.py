"""Manifest ``target:`` -> a Kodo client (and, for ``embedded: true``, the emulator behind it).

``embedded: true`` starts the emulator in this process with its data under ``.kodo-jobs/``
beside the manifest, fixed local-only keys, and buckets created on first use, so the quick
start needs no account. Keys from the manifest are registered with the log redactor before
anything can print them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from kodo_jobs.errors import UsageError
from kodo_jobs.kodo.client import KodoClient
from kodo_jobs.kodo.config import Credentials, Hosts, Timeouts
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
    credentials = Credentials(target.access_key.get_secret_value(), target.secret_key.get_secret_value())
    with KodoClient(credentials, hosts_for(target), timeouts=timeouts) as client:
        yield client


def hosts_for(target: Any) -> Hosts:
    """The client's :class:`Hosts` for a non-embedded target (endpoint, region or explicit hosts)."""
    if target.endpoint is not None:
        hosts = Hosts.single(str(target.endpoint).rstrip("/"))
    elif target.region is not None:
        hosts = Hosts.for_region(target.region, scheme="https" if target.use_https else "http")
    elif target.hosts is not None:
        h = target.hosts

        def urls(value: Any) -> tuple[str, ...]:
            return (str(value).rstrip("/"),) if value is not None else ()

        optional: dict[str, Any] = {}
        if h.uc is not None:
            optional["uc"] = urls(h.uc)
        if h.fusion is not None:
            optional["fusion"] = urls(h.fusion)
        hosts = Hosts(up=urls(h.up), io=urls(h.io), rs=urls(h.rs), rsf=urls(h.rsf), api=urls(h.api),
                      query_region=False, scheme=str(h.up).split(":", 1)[0], **optional)
    else:
        raise UsageError("target: set one of embedded, endpoint, region or hosts")
    if target.upload_host is not None:
        hosts = hosts.with_upload_override(str(target.upload_host).rstrip("/"))
    if getattr(target, "accelerate_uploading", False):
        hosts = replace(hosts, accelerate=True)
    return hosts


def describe_target(target: Any) -> str:
    """How messages name the target: "the embedded emulator", "http://host:port", "Kodo region z2".

    A password in an endpoint URL is never shown (``user:***@host``)."""
    from urllib.parse import urlsplit

    if getattr(target, "embedded", False):
        return "the embedded emulator"
    endpoint = getattr(target, "endpoint", None)
    if endpoint is not None:
        url = str(endpoint).rstrip("/")
        parts = urlsplit(url)
        if parts.password is not None:
            url = url.replace(f"{parts.username}:{parts.password}@", f"{parts.username}:***@", 1)
        return url
    region = getattr(target, "region", None)
    if region is not None:
        return f"Kodo region {region}"
    hosts = getattr(target, "hosts", None)
    if hosts is not None and getattr(hosts, "rs", None) is not None:
        return f"the hosts of target.hosts (rs {str(hosts.rs).rstrip('/')})"
    return "the target"
