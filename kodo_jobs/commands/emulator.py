"""`kodo-jobs emulator`: run the local Kodo-compatible server in the foreground."""

from __future__ import annotations

from pathlib import Path

from kodo_jobs.errors import EXIT_OK, UsageError


def emulator(*, host: str, port: int, data_dir: Path, access_key: str, secret_key: str,
             buckets: list[str], fault_rate: float = 0.0, fault_seed: int = 0,
             anti_leech_key: str | None = None, domains: list[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; prints one ``listening on http://HOST:PORT`` line."""
    from kodo_jobs.emulator.config import EmulatorConfig
    from kodo_jobs.emulator.server import serve_forever

    try:
        config = EmulatorConfig(
            data_dir=data_dir, access_key=access_key, secret_key=secret_key, buckets=tuple(buckets),
            host=host, port=port, fault_rate=fault_rate, fault_seed=fault_seed,
            anti_leech_key=anti_leech_key, domains=tuple(domains or ()),
        )
    except ValueError as exc:
        raise UsageError(f"kodo-jobs emulator: {exc}") from exc
    try:
        serve_forever(config)
    except OSError as exc:
        raise UsageError(f"kodo-jobs emulator: cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return EXIT_OK
