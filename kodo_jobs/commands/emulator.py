"""`kodo-jobs emulator`: run the local Kodo-compatible server in the foreground."""

from __future__ import annotations

from pathlib import Path

from kodo_jobs.errors import EXIT_OK, UsageError


def emulator(*, host: str, port: int, data_dir: Path, access_key: str, secret_key: str,
             buckets: list[str], fault_rate: float = 0.0, fault_seed: int = 0,
             anti_leech_key: str | None = None, domains: list[str] | None = None,
             proxy_port: int | None = None, latency: str = "0") -> int:
    """Serve until SIGINT/SIGTERM; prints one ``listening on http://HOST:PORT`` line (and
    ``proxy on http://HOST:PORT`` with a proxy port)."""
    from kodo_jobs.emulator.config import EmulatorConfig
    from kodo_jobs.emulator.server import serve_forever
    from kodo_jobs.manifest.types import parse_duration

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
