"""Point the official SDK at the emulator (kodo-protocol.md §11.1 recipe B: explicit hosts)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import qiniu


def auth() -> Any:
    return qiniu.Auth(os.environ["BENCH_AK"], os.environ["BENCH_SK"])


def region(base_url: str) -> Any:
    """Every service on the one emulator URL, so no uc query is made."""
    return qiniu.Region(up_host=base_url, up_host_backup=base_url, io_host=base_url,
                        rs_host=base_url, rsf_host=base_url, api_host=base_url)


def walk(root: Path) -> list[tuple[str, str]]:
    """(key, path) of every file under root, keys as relative POSIX paths, sorted."""
    out = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            out.append((os.path.relpath(path, root).replace(os.sep, "/"), path))
    out.sort()
    return out


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    raise SystemExit(1)
