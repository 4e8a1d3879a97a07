"""`kodo-jobs emulator`: run the local Kodo-compatible server in the foreground."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from kodo_jobs.errors import EXIT_OK, UsageError

DEFAULT_SECRET_KEY = "kodo-jobs-sk"
"""The CLI's default ``--secret-key``: public knowledge, so only ever served on loopback."""


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False  # a name that may resolve anywhere: treated as exposed


def check_exposure(host: str, secret_key: str) -> None:
    """Refuse (``UsageError``, exit 2) to serve the well-known default key pair on an address
    other machines may reach: anyone could then sign requests and read or change every bucket."""
    if secret_key == DEFAULT_SECRET_KEY and not _is_loopback(host):
        raise UsageError(
            f"kodo-jobs emulator: refusing to listen on {host} with the default secret key (anyone "
            "could sign requests). Pass --access-key and --secret-key with values of your own, or "
            "listen on 127.0.0.1."
        )


def emulator(*, host: str, port: int, data_dir: Path, access_key: str, secret_key: str,
             buckets: list[str], fault_rate: float = 0.0, fault_seed: int = 0,
             anti_leech_key: str | None = None, domains: list[str] | None = None,
             proxy_port: int | None = None, latency: str = "0") -> int:
    """Serve until SIGINT/SIGTERM; prints one ``listening on http://HOST:PORT`` line (and
    ``proxy on http://HOST:PORT`` with a proxy port)."""
    from kodo_jobs.emulator.config import EmulatorConfig
    from kodo_jobs.emulator.server import serve_forever
    from kodo_jobs.units import parse_duration

    check_exposure(host, secret_key)
    try:
        delay = parse_duration(latency)
    except ValueError as exc:
        raise UsageError(f"kodo-jobs emulator: --latency {exc}") from exc
    try:
        config = EmulatorConfig(
            data_dir=data_dir, access_key=access_key, secret_key=secret_key, buckets=tuple(buckets),
            host=host, port=port, fault_rate=fault_rate, fault_seed=fault_seed,
            anti_leech_key=anti_leech_key, domains=tuple(domains or ()), proxy_port=proxy_port,
            latency=delay,
        )
    except ValueError as exc:
        raise UsageError(f"kodo-jobs emulator: {exc}") from exc
    try:
        serve_forever(config)
    except OSError as exc:
        where = f"{host}:{port}" if proxy_port is None else f"{host}:{port} / proxy port {proxy_port}"
        raise UsageError(f"kodo-jobs emulator: cannot listen on {where}: {exc.strerror or exc}") from exc
    return EXIT_OK
