"""A tiny raw-HTTP Kodo client for the harness: seeding, verification and the "limit" side.

Deliberately independent of both kodo-jobs and the SDK: it seeds buckets before a side runs,
lists them afterwards to check the result, and is the "listing the prefix with raw requests"
half of the no-op and planning limits. QBox signing (kodo-protocol.md §2.2) and upload tokens
(§2.4) are a few lines each.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _entry(bucket: str, key: str) -> str:
    return _b64(f"{bucket}:{key}".encode())


@dataclass(frozen=True, slots=True)
class Listed:
    """One object from ``/list``."""

    key: str
    hash: str
    fsize: int


class RawKodo:
    """Signed raw requests against one base URL (the emulator serves every service there)."""

    def __init__(self, base_url: str, access_key: str, secret_key: str) -> None:
        self.base = base_url.rstrip("/")
        self.ak = access_key
        self._sk = secret_key.encode()
        self.session = requests.Session()
        self.session.trust_env = False

    def _qbox(self, path_query: str, body: bytes = b"") -> str:
        sign = hmac.new(self._sk, path_query.encode() + b"\n" + body, hashlib.sha1).digest()
        return f"QBox {self.ak}:{_b64(sign)}"

    def upload_token(self, bucket: str, ttl_s: int = 7200) -> str:
        policy = _b64(json.dumps({"scope": bucket, "deadline": int(time.time()) + ttl_s}).encode())
        sign = _b64(hmac.new(self._sk, policy.encode(), hashlib.sha1).digest())
        return f"{self.ak}:{sign}:{policy}"

    def list_all(self, bucket: str, prefix: str = "") -> Iterator[Listed]:
        """Every object under ``prefix``, page by page (1000 per page)."""
        marker = ""
        while True:
            query = {"bucket": bucket, "limit": "1000"}
            if prefix:
                query["prefix"] = prefix
            if marker:
                query["marker"] = marker
            path_query = "/list?" + urllib.parse.urlencode(query)
            resp = self.session.get(self.base + path_query, headers={"Authorization": self._qbox(path_query)},
                                    timeout=60)
            resp.raise_for_status()
            doc = resp.json()
            for item in doc.get("items") or []:
                yield Listed(item["key"], item.get("hash", ""), int(item.get("fsize", 0)))
            marker = doc.get("marker") or ""
            if not marker:
                return

    def put_bytes(self, token: str, key: str, data: bytes) -> dict[str, object]:
        """Form upload of one small object."""
        resp = self.session.post(self.base + "/", data={"token": token, "key": key},
                                 files={"file": ("file", data, "application/octet-stream")}, timeout=60)
        resp.raise_for_status()
        result: dict[str, object] = resp.json()
        return result

    def batch(self, ops: list[str]) -> list[dict[str, object]]:
        """One ``/batch`` request; returns the per-op results (200 or 298 both parse)."""
        body = urllib.parse.urlencode([("op", op) for op in ops]).encode()
        resp = self.session.post(self.base + "/batch", data=body, timeout=120, headers={
            "Authorization": self._qbox("/batch", body),
            "Content-Type": "application/x-www-form-urlencoded",
        })
        if resp.status_code not in (200, 298):
            resp.raise_for_status()
        result: list[dict[str, object]] = resp.json()
        return result

    def copy_ops(self, bucket: str, src: str, dests: Iterable[str]) -> list[str]:
        return [f"/copy/{_entry(bucket, src)}/{_entry(bucket, d)}/force/true" for d in dests]


def seed_tree(base_url: str, ak: str, sk: str, bucket: str, root: Path, keys: list[str],
              threads: int = 2) -> None:
    """Upload every ``root/key`` under ``key`` (form uploads, a couple of threads)."""
    token = RawKodo(base_url, ak, sk).upload_token(bucket)

    def _chunk(part: list[str]) -> None:
        client = RawKodo(base_url, ak, sk)
        for key in part:
            client.put_bytes(token, key, (root / key).read_bytes())

    chunks = [keys[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        for fut in [pool.submit(_chunk, c) for c in chunks]:
            fut.result()


def seed_copies(base_url: str, ak: str, sk: str, bucket: str, keys: list[str]) -> None:
    """Create many tiny objects fast: one upload, then batch copies of 1000 per request."""
    client = RawKodo(base_url, ak, sk)
    src = "__seed_source"
    client.put_bytes(client.upload_token(bucket), src, b"x")
    for i in range(0, len(keys), 1000):
        results = client.batch(client.copy_ops(bucket, src, keys[i:i + 1000]))
        bad = [r for r in results if r.get("code") != 200]
        if bad:
            raise RuntimeError(f"seeding copies failed: {bad[:3]}")
    client.batch([f"/delete/{_entry(bucket, src)}"])
