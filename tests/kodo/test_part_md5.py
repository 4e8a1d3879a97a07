"""v2 parts carry a Content-MD5 only when asked (``part_md5``); the emulator still stores the
right object either way, refuses a part whose MD5 does not match, and the sync job passes the
manifest's ``upload.part_md5`` through."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from kodo_jobs.jobs.sync.execute import _upload_kwargs
from kodo_jobs.kodo import KodoClient, UpTokenAuth, errors
from kodo_jobs.kodo.auth import urlsafe_b64
from kodo_jobs.kodo.etag import etag_file
from kodo_jobs.manifest.spec_sync import SyncJob

from .conftest import Recorder

B = "test-bucket"
MIB = 1024 * 1024


def _part_puts(client: KodoClient, monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, str], bytes]]:
    """Headers and body of every part PUT the client sends (observed at the HTTP seam)."""
    seen: list[tuple[dict[str, str], bytes]] = []
    real = client.http.request

    def observe(method: str, bases: Any, path: str, **kw: Any) -> Any:
        if method == "PUT" and "/uploads/" in path:
            seen.append((dict(kw.get("headers") or {}), bytes(kw.get("data") or b"")))
        return real(method, bases, path, **kw)

    monkeypatch.setattr(client.http, "request", observe)
    return seen


@pytest.mark.parametrize("part_md5", [False, True])
def test_part_md5_header_only_when_asked(kodo: tuple[KodoClient, Recorder], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, part_md5: bool) -> None:
    client, _ = kodo
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(9 * MIB + 5))
    puts = _part_puts(client, monkeypatch)
    res = client.upload.upload_file(B, f"md5-{part_md5}", path, threshold=4 * MIB, part_size=4 * MIB,
                                    part_md5=part_md5)
    assert res.hash == etag_file(path)
    assert len(puts) == 3
    for headers, body in puts:
        if part_md5:
            assert headers["Content-MD5"] == hashlib.md5(body).hexdigest()
        else:
            assert "Content-MD5" not in headers


def test_emulator_refuses_a_part_with_a_wrong_md5(kodo: tuple[KodoClient, Recorder]) -> None:
    client, _ = kodo
    api = client.upload.resumable
    hosts = client.upload._resolver.candidates("up", B, None)
    token = client.upload.token(B, "bad-md5")
    upload_id, _ = api.initiate(hosts, token, B, "bad-md5")
    path = f"/buckets/{B}/objects/{urlsafe_b64('bad-md5')}/uploads/{upload_id}/1"
    with pytest.raises(errors.BadRequest):
        client.http.request("PUT", hosts, path, data=b"a" * MIB, auth=UpTokenAuth(token),
                            headers={"Content-Type": "application/octet-stream",
                                     "Content-MD5": hashlib.md5(b"b" * MIB).hexdigest()})
    assert api.upload_part(hosts, token, B, "bad-md5", upload_id, 1, b"a" * MIB, content_md5=True)
    assert api.upload_part(hosts, token, B, "bad-md5", upload_id, 1, b"a" * MIB, content_md5=False)


@pytest.mark.parametrize(("given", "expected"), [({}, False), ({"part_md5": True}, True)])
def test_sync_job_passes_part_md5(tmp_path: Path, given: dict[str, Any], expected: bool) -> None:
    spec = SyncJob.model_validate({"name": "s", "kind": "sync", "source": str(tmp_path), "bucket": B,
                                   "upload": given})
    assert _upload_kwargs(spec, str(tmp_path / "f"), 0)["part_md5"] is expected
