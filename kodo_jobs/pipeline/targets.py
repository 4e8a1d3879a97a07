"""Manifest ``target:`` -> a Kodo client (and, for ``embedded: true``, the emulator behind it).

``embedded: true`` starts the emulator in this process with its data under ``.kodo-jobs/``
beside the manifest, fixed local-only keys, and buckets created on first use, so the quick
start needs no account; it is always reached directly, whatever proxy the environment names.
Keys from the manifest, and the credentials of any proxy URL (``target.proxy`` or the
``*_PROXY`` environment variables), are registered with the log redactor before anything can
print them. ``target.proxy``, ``target.ca_bundle`` and ``target.sign_date`` become the client's
:class:`~kodo_jobs.kodo.network.Network` and ``sign_date`` (see docs/network.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from kodo_jobs.errors import UsageError
from kodo_jobs.kodo.client import KodoClient
from kodo_jobs.kodo.config import Credentials, Hosts, Timeouts
from kodo_jobs.kodo.hosts import ReadOnlyStore, ValueStore
from kodo_jobs.kodo.network import Network, url_credentials
from kodo_jobs.log import register_secret

if TYPE_CHECKING:
    from pydantic import AnyHttpUrl

    from kodo_jobs.manifest.target import Target

EMBEDDED_DIR = ".kodo-jobs"
EMBEDDED_AK = "kodo-jobs-embedded-ak"
EMBEDDED_SK = "kodo-jobs-embedded-sk"  # local-only emulator key: not a secret


def _timeouts(target: Target) -> Timeouts:
    t = target.timeouts
    return Timeouts(connect=float(t.connect), read=float(t.read))


@contextmanager
def open_target(target: Target, manifest_dir: Path, state: ValueStore | None = None) -> Iterator[KodoClient]:
    """Yield a client for ``target``; the client (and an embedded emulator) is closed on exit.

    ``state``: where uc's region answers are kept between runs (the state file)."""
    timeouts = _timeouts(target)
    if target.embedded:
        from kodo_jobs.emulator.config import EmulatorConfig
        from kodo_jobs.emulator.server import start_emulator

        config = EmulatorConfig(data_dir=manifest_dir / EMBEDDED_DIR, access_key=EMBEDDED_AK,
                                secret_key=EMBEDDED_SK, auto_create_buckets=True)
        running = start_emulator(config)
        try:
            _set_mirrors(running.url, target.mirrors, timeouts)
            with KodoClient.for_endpoint(running.url, EMBEDDED_AK, EMBEDDED_SK, timeouts=timeouts,
                                         network=Network(direct=True)) as client:
                yield client
        finally:
            running.stop()
        return
    if target.access_key is None or target.secret_key is None:  # the model requires both without embedded
        raise UsageError("target: access_key and secret_key are required")
    register_secret(target.access_key)
    register_secret(target.secret_key)
    credentials = Credentials(target.access_key.get_secret_value(), target.secret_key.get_secret_value())
    with KodoClient(credentials, hosts_for(target), timeouts=timeouts, network=network_for(target, manifest_dir),
                    sign_date=target.sign_date) as client:
        client.persist_regions(state)
        yield client


def read_only_store(state: ValueStore | None) -> ValueStore:
    """The state file's saved uc answers for a client that must write nothing (``plan``, dry runs)."""
    return ReadOnlyStore(state)


def _set_mirrors(url: str, mirrors: dict[str, str], timeouts: Timeouts) -> None:
    """Give the embedded emulator's buckets their mirror origins (``target.mirrors``), through
    its admin route, as the Kodo console does for a real bucket."""
    import requests

    with requests.Session() as session:
        session.trust_env = False  # the embedded emulator is always reached directly
        for bucket, origin in mirrors.items():
            answer = session.post(f"{url}/_emulator/mirror", json={"bucket": bucket, "source": origin},
                                  timeout=(timeouts.connect, timeouts.read))
            if answer.status_code != 200:
                raise UsageError(f"target.mirrors.{bucket}: the embedded emulator refused {origin!r}: "
                                 f"{answer.text.strip()[:200]}")


PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def network_for(target: Target, manifest_dir: Path) -> Network:
    """The proxy and CA settings of a non-embedded target; proxy credentials are registered
    with the log redactor first. A ``ca_bundle`` that is not a file is a usage error."""
    proxy = target.proxy
    for url in (proxy, *(os.environ.get(name) for name in PROXY_ENV)):
        for secret in url_credentials(url) if url else ():
            register_secret(secret)
    ca_bundle = target.ca_bundle
    if ca_bundle is not None:
        path = (manifest_dir / Path(ca_bundle).expanduser()).resolve()
        if not path.is_file():
            raise UsageError(f"target.ca_bundle: {path} is not a file")
        ca_bundle = str(path)
    try:
        return Network(proxy=proxy, ca_bundle=ca_bundle)
    except ValueError as exc:
        raise UsageError(f"target.proxy: {exc}") from exc


def hosts_for(target: Target) -> Hosts:
    """The client's :class:`Hosts` for a non-embedded target: endpoint, fixed region, explicit hosts,
    or (``region: auto``, also when none is named) every service asked of uc per bucket."""
    scheme = "https" if target.use_https else "http"
    if target.endpoint is not None:
        hosts = Hosts.single(str(target.endpoint).rstrip("/"))
    elif target.region_auto:
        hosts = Hosts(scheme=scheme)
    elif target.region is not None:
        hosts = Hosts.for_region(target.region, scheme=scheme)
    elif target.hosts is not None and target.hosts.up is None:  # only uc: the rest asked of it
        uc = str(target.hosts.uc).rstrip("/")
        hosts = Hosts(uc=(uc,), scheme=uc.split(":", 1)[0])
        if target.hosts.fusion is not None:
            hosts = replace(hosts, fusion=(str(target.hosts.fusion).rstrip("/"),))
    elif target.hosts is not None:
        h = target.hosts

        def urls(value: AnyHttpUrl | None) -> tuple[str, ...]:
            return (str(value).rstrip("/"),) if value is not None else ()

        hosts = Hosts(up=urls(h.up), io=urls(h.io), rs=urls(h.rs), rsf=urls(h.rsf), api=urls(h.api),
                      query_region=False, scheme=str(h.up).split(":", 1)[0])
        if h.uc is not None:
            hosts = replace(hosts, uc=urls(h.uc))
        if h.fusion is not None:
            hosts = replace(hosts, fusion=urls(h.fusion))
    else:
        raise UsageError("target: set one of embedded, endpoint, region or hosts")
    if target.upload_host is not None:
        hosts = hosts.with_upload_override(str(target.upload_host).rstrip("/"))
    if target.accelerate_uploading:
        hosts = replace(hosts, accelerate=True)
    return hosts


def describe_target(target: Target) -> str:
    """How messages name the target: "the embedded emulator", "http://host:port", "Kodo region z2".

    A password in an endpoint URL is never shown (``user:***@host``)."""
    from urllib.parse import urlsplit

    if target.embedded:
        return "the embedded emulator"
    endpoint = target.endpoint
    if endpoint is not None:
        url = str(endpoint).rstrip("/")
        parts = urlsplit(url)
        if parts.password is not None:
            url = url.replace(f"{parts.username}:{parts.password}@", f"{parts.username}:***@", 1)
        return url
    region = target.region
    if region is not None:
        return f"Kodo region {region}"
    hosts = target.hosts
    if hosts is not None and hosts.rs is not None:
        return f"the hosts of target.hosts (rs {str(hosts.rs).rstrip('/')})"
    return "the target"
