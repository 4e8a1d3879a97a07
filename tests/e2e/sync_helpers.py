"""Small helpers for the sync end-to-end tests: an emulator, manifests, the CLI, an oracle.

* :func:`serve` starts the emulator in-process on 127.0.0.1 port 0 (AK ``test-ak``, SK
  ``test-sk``, bucket ``test-bucket``; no auto-created buckets, like a hand-started one);
* :func:`write_manifest` writes a manifest with ``target: {endpoint: URL, ...}``;
* :func:`cli` runs ``kodo-jobs`` in-process (so tests can monkeypatch) and returns the exit
  code, stdout and stderr;
* :func:`bucket_objects` lists a bucket with the **official SDK** (an independent oracle) and
  :func:`assert_mirrored` checks that every object's hash equals the local file's etag,
  computed by the SDK's ``qiniu.etag`` (or, for v2 uploads with other than 4 MiB parts, which
  the SDK cannot compute, by ``etag_file_v2``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from kodo_jobs.emulator.config import EmulatorConfig
from kodo_jobs.emulator.server import RunningEmulator, start_emulator
from kodo_jobs.kodo.etag import etag_file_v2

AK, SK, BUCKET = "test-ak", "test-sk", "test-bucket"


@contextlib.contextmanager
def serve(data_dir: Path, buckets: tuple[str, ...] = (BUCKET,)) -> Iterator[RunningEmulator]:
    """An emulator on a free loopback port, stopped on exit."""
    with start_emulator(EmulatorConfig(data_dir=data_dir, access_key=AK, secret_key=SK, buckets=buckets)) as emu:
        yield emu


def sync_job(source: str = "./src", **fields: Any) -> dict[str, Any]:
    """A sync job dict with test defaults (name ``site``, bucket ``test-bucket``)."""
    job: dict[str, Any] = {"name": "site", "kind": "sync", "source": source, "bucket": BUCKET}
    job.update(fields)
    return job


def write_manifest(folder: Path, url: str, *jobs: Mapping[str, Any], name: str = "m.yaml") -> Path:
    """Write a manifest with an endpoint target; returns its path."""
    doc = {
        "version": 1,
        "target": {"endpoint": url, "access_key": AK, "secret_key": SK},
        "defaults": {"concurrency": 4, "retry": {"attempts": 3, "max_wait": "1s", "initial_wait": "0.05s"}},
        "jobs": [dict(j) for j in jobs],
    }
    path = folder / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@dataclass(frozen=True)
class CliResult:
    """Exit code and output of one in-process ``kodo-jobs`` call."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout parsed as one JSON document (``plan --json``)."""
        return json.loads(self.out)


def cli(*args: str | os.PathLike[str]) -> CliResult:
    """Run ``kodo-jobs ARGS`` in this process."""
    from kodo_jobs.cli import cli as group

    runner = CliRunner()
    result = runner.invoke(group, [os.fspath(a) for a in args], catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def plan_ops(manifest: Path, *extra: str) -> dict[str, list[str]]:
    """``plan --json --all``: the keys of each op (sorted), e.g. ``{"upload": [...], "same": [...]}``."""
    res = cli("plan", manifest, "--json", "--all", *extra)
    assert res.code == 0, f"plan failed ({res.code}): {res.err}"  # 4 only with --exit-code
    ops: dict[str, list[str]] = {}
    for action in res.json()["actions"]:
        ops.setdefault(action["op"], []).append(action["key"])
    return {op: sorted(keys) for op, keys in ops.items()}


# -- the oracle: the official SDK --------------------------------------------------------------

def _sdk(url: str) -> Any:
    import qiniu

    z = qiniu.Region(up_host=url, up_host_backup=url, io_host=url, rs_host=url, rsf_host=url, api_host=url)
    return qiniu.BucketManager(qiniu.Auth(AK, SK), zone=z)


def bucket_objects(url: str, bucket: str = BUCKET, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every object under ``prefix`` (key -> rsf item), listed by the official SDK."""
    bm = _sdk(url)
    out: dict[str, dict[str, Any]] = {}
    marker: str | None = None
    while True:
        ret, eof, info = bm.list(bucket, prefix=prefix or None, marker=marker, limit=1000)
        assert ret is not None, f"SDK list failed: {info}"
        for item in ret.get("items", []):
            out[item["key"]] = item
        marker = ret.get("marker")
        if eof or not marker:
            return out


def local_tree(source: Path, prefix: str = "") -> dict[str, Path]:
    """key -> path of every regular file under ``source`` (NFC keys)."""
    out: dict[str, Path] = {}
    for root, _dirs, files in os.walk(source):
        for name in files:
            path = Path(root) / name
            if path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(source).as_posix()
            out[prefix + unicodedata.normalize("NFC", rel)] = path
    return out


def expected_hash(path: Path, *, v2_part_size: int = 0, threshold: int = 0) -> str:
    """The hash Kodo must hold for ``path``: the SDK's qetag, or the v2 hash for odd part sizes."""
    import qiniu

    size = path.stat().st_size
    if v2_part_size and v2_part_size != 4 * 1024 * 1024 and size > threshold:
        return etag_file_v2(path, v2_part_size)
    return str(qiniu.etag(str(path)))


def assert_mirrored(url: str, source: Path, prefix: str = "", *, keys: set[str] | None = None,
                    extra_ok: set[str] = frozenset(), v2_part_size: int = 0, threshold: int = 0) -> None:
    """Every local file (or only ``keys``) is in the bucket with the right hash; no other object
    under the prefix except ``extra_ok``."""
    objects = bucket_objects(url, prefix=prefix)
    local = local_tree(source, prefix)
    if keys is not None:
        local = {k: p for k, p in local.items() if k in keys}
    missing = sorted(set(local) - set(objects))
    assert not missing, f"not in the bucket: {missing}"
    wrong = {k: (objects[k]["hash"], expected_hash(p, v2_part_size=v2_part_size, threshold=threshold))
             for k, p in local.items()
             if objects[k]["hash"] != expected_hash(p, v2_part_size=v2_part_size, threshold=threshold)}
    assert not wrong, f"objects with a wrong hash (bucket, local): {wrong}"
    sizes = {k: (objects[k]["fsize"], p.stat().st_size) for k, p in local.items()
             if objects[k]["fsize"] != p.stat().st_size}
    assert not sizes, f"objects with a wrong size: {sizes}"
    if keys is None:
        extra = sorted(set(objects) - set(local) - set(extra_ok))
        assert not extra, f"objects without a local file: {extra}"


def stats(emu: RunningEmulator) -> dict[str, Any]:
    """The emulator's stats document."""
    return emu.stats()


def upload_bytes_received(emu: RunningEmulator) -> int:
    """Bytes the emulator received so far (uploads dominate)."""
    return int(emu.stats()["bytes_received"])


def make_tree(root: Path, files: Mapping[str, bytes | str]) -> None:
    """Create files (parents included), dated a minute ago.

    Backdating keeps tests deterministic: an etag is only cached for a file modified more
    than ``hashing.RACY_NS`` before it was hashed.
    """
    then = time.time() - 60
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        os.utime(path, (then, then))

