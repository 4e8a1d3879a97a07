"""The emulator's configuration: one frozen value, validated once, passed to every layer.

Bucket strings are ``NAME`` or ``NAME:private`` (the CLI's ``--bucket``). The secret key is
masked in ``repr`` so a config can be logged safely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_BUCKET_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?$")


@dataclass(frozen=True)
class BucketSpec:
    """A bucket to create at start-up."""

    name: str
    private: bool = False


def parse_bucket(spec: str) -> BucketSpec:
    """Parse ``NAME`` or ``NAME:private``; raise ``ValueError`` with the fix on anything else."""
    name, _, flag = spec.partition(":")
    if flag not in ("", "private", "public"):
        raise ValueError(f"bucket {spec!r}: the suffix must be ':private' (or ':public'), not {flag!r}")
    if not _BUCKET_NAME.match(name):
        raise ValueError(f"bucket {name!r}: use 1-63 letters, digits or '-', not starting or ending with '-'")
    return BucketSpec(name=name, private=flag == "private")


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the emulator needs to start. ``port=0`` picks a free port."""

    data_dir: Path
    access_key: str
    secret_key: str = field(repr=False)
    buckets: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 0
    fault_rate: float = 0.0
    fault_seed: int = 0
    anti_leech_key: str | None = field(default=None, repr=False)
    auto_create_buckets: bool = False
    header_timeout: float = 10.0
    """Seconds a client has to send a request's whole header block (``gate``)."""

    def __post_init__(self) -> None:
        if not self.access_key or ":" in self.access_key:
            raise ValueError("access_key must be non-empty and contain no ':'")
        if not self.secret_key:
            raise ValueError("secret_key must be non-empty")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be within 0..1, not {self.fault_rate}")
        if not self.header_timeout > 0:
            raise ValueError(f"header_timeout must be > 0, not {self.header_timeout}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be within 0..65535, not {self.port}")
        for spec in self.buckets:
            parse_bucket(spec)

    def bucket_specs(self) -> tuple[BucketSpec, ...]:
        """The configured buckets, parsed."""
        return tuple(parse_bucket(s) for s in self.buckets)
