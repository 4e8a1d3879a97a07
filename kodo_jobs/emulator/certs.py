"""The emulator's own certificate authority, for the TLS it terminates in proxy mode.

``trustme`` mints the CA and one server certificate naming every host the proxy serves (Kodo's
public host names, wildcard transfer-acceleration domains, the configured bucket domains). The
CA certificate is written to ``<data>/ca.pem`` for clients to trust (``REQUESTS_CA_BUNDLE``,
``target.ca_bundle``); its key stays beside it (``ca-key.pem``, mode 0600) so a restarted
emulator keeps the same CA and clients keep working.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import trustme

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
PROXY_DIR = "proxy"


@dataclass(frozen=True)
class ServerCert:
    """Paths of a minted server certificate (chain) and its key."""

    cert: Path
    key: Path


def load_or_create_ca(data_dir: Path) -> trustme.CA:
    """The CA of this data folder: read back when present, minted (and written) otherwise."""
    cert_path, key_path = data_dir / CA_FILE, data_dir / CA_KEY_FILE
    if cert_path.is_file() and key_path.is_file():
        return trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
    ca = trustme.CA(organization_name="kodo-jobs emulator")
    _write_private(key_path, ca.private_key_pem.bytes())
    ca.cert_pem.write_to_path(str(cert_path))
    return ca


def issue_server_cert(ca: trustme.CA, hosts: list[str], data_dir: Path) -> ServerCert:
    """A fresh server certificate for ``hosts`` (written under ``<data>/proxy/``)."""
    leaf = ca.issue_cert(*hosts, common_name="kodo-jobs emulator proxy")
    folder = data_dir / PROXY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "server.pem", folder / "server-key.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    _write_private(key, leaf.private_key_pem.bytes())
    return ServerCert(cert=cert, key=key)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
