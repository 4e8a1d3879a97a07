"""``KodoClient``: one object that holds the session, the hosts and every sub-API.

``network=Network(proxy=..., ca_bundle=...)`` sets the proxy and the CAs (default: the
environment's proxies, ``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE`` or certifi; see
:mod:`kodo_jobs.kodo.network`).

    client = KodoClient.for_endpoint("http://127.0.0.1:9400", "ak", "sk")
    client.rs.stat("bucket", "key"); client.upload.upload_file("bucket", "key", path)

Thread-safe: share one client between worker threads (the session pool is sized by
``pool_size``; give at least the number of threads times the part concurrency).
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, TypedDict, Unpack
from urllib.parse import urlsplit

from . import errors
from .auth import QBoxAuth, QiniuAuth
from .clock import DeadlineSlack
from .config import Credentials, Hosts, Timeouts
from .domains import choose_domain
from .hosts import HostResolver, ValueStore
from .http import HttpClient
from .network import Network
from .rs import RsApi
from .rsf import RsfApi
from .uc import UcApi
from .upload.form import FormUploader
from .upload.resumable import ResumableApi
from .upload.uploader import Uploader
from .urls import UrlSigner

if TYPE_CHECKING:
    import requests

    from .cdn import CdnApi
    from .fetch import FetchApi
    from .fop import FopApi


class ClientOptions(TypedDict, total=False):
    """The keyword options of :class:`KodoClient` besides credentials and hosts."""

    timeouts: Timeouts
    session: requests.Session | None
    pool_size: int
    network: Network | None
    sign_date: bool | None


class KodoClient:
    """The Kodo client: ``rs``, ``rsf``, ``upload``, ``fetch``, ``fop``, ``cdn``, ``uc``, ``urls``."""

    def __init__(self, credentials: Credentials, hosts: Hosts, *, timeouts: Timeouts = Timeouts(),
                 session: requests.Session | None = None, pool_size: int = 16,
                 network: Network | None = None, sign_date: bool | None = None) -> None:
        self.credentials = credentials
        self.hosts = hosts
        self.http = HttpClient(timeouts, session=session, pool_size=pool_size, network=network)
        self.resolver = HostResolver(hosts)
        qiniu_auth = QiniuAuth(credentials, timestamp=sign_date)
        self.sign_date = qiniu_auth.sends_date
        self._qiniu_auth = qiniu_auth
        self._qbox_auth = QBoxAuth(credentials)
        self.uc = UcApi(self.http, credentials, self.resolver.uc_hosts, hosts.scheme, qiniu_auth)
        self.resolver.attach(self.uc)
        self.rs = RsApi(self.http, self.resolver, qiniu_auth)
        self.rsf = RsfApi(self.http, self.resolver, qiniu_auth)
        self.slack = DeadlineSlack()  # this client's: widened when its target's clock is off
        self.upload = Uploader(credentials, self.resolver, FormUploader(self.http), ResumableApi(self.http),
                               self.slack)
        self.urls = UrlSigner(credentials, self.slack)
        self._download_bases: dict[str, str] = {}
        self._bases_lock = threading.Lock()

    # fetch, fop and cdn are built (and their modules imported) on first use: a sync or batch
    # run never needs them, and every run pays its imports at start-up
    @cached_property
    def fetch(self) -> FetchApi:
        """Fetch from a URL into a bucket, prefetch from the mirror origin, async fetch."""
        from .fetch import FetchApi

        return FetchApi(self.http, self.resolver, self._qiniu_auth)

    @cached_property
    def fop(self) -> FopApi:
        """Persistent data processing (pfop, prefop)."""
        from .fop import FopApi

        return FopApi(self.http, self.resolver, self._qbox_auth)

    @cached_property
    def cdn(self) -> CdnApi:
        """CDN refresh, prefetch, traffic and log calls."""
        from .cdn import CdnApi

        return CdnApi(self.http, self.resolver, self._qbox_auth)

    @classmethod
    def for_endpoint(cls, url: str, access_key: str, secret_key: str, **kw: Unpack[ClientOptions]) -> KodoClient:
        """Every service at one base URL (the emulator or a Kodo-compatible gateway)."""
        return cls(Credentials(access_key, secret_key), Hosts.single(url), **kw)

    @classmethod
    def for_region(cls, region_id: str, access_key: str, secret_key: str,
                   **kw: Unpack[ClientOptions]) -> KodoClient:
        """The public hosts of a Kodo region (``z0``, ``z1``, ``z2``, ``na0``, ``as0``...)."""
        return cls(Credentials(access_key, secret_key), Hosts.for_region(region_id), **kw)

    @classmethod
    def discover(cls, access_key: str, secret_key: str, *, uc: str | None = None,
                 **kw: Unpack[ClientOptions]) -> KodoClient:
        """Find each bucket's hosts through uc ``/v4/query`` (cached for the answer's ttl)."""
        # uc answers bare host:port domains: use the uc URL's own scheme for them
        hosts = Hosts(uc=(uc,), scheme=urlsplit(uc).scheme or "https") if uc else Hosts()
        return cls(Credentials(access_key, secret_key), hosts, **kw)

    def download_base(self, bucket: str) -> str:
        """The base URL objects of ``bucket`` are downloaded from (``base + "/" + key``), found
        once per bucket: one of the bucket's domains from uc, chosen by :mod:`.domains`; for a
        single-endpoint client (the emulator) its ``/dl/<bucket>`` route. Raises
        :class:`~.errors.NoDomain` when the bucket has no domain."""
        with self._bases_lock:
            found = self._download_bases.get(bucket)
        if found is not None:
            return found
        if self.hosts.one_endpoint:
            base = f"{self.resolver.candidates('io', bucket)[0].rstrip('/')}/dl/{bucket}"
        else:
            chosen = choose_domain(self.uc.domains(bucket), self.hosts.scheme)
            if chosen is None:
                raise errors.NoDomain(
                    f"bucket {bucket!r} has no domain bound, and Kodo serves objects only on bucket "
                    "domains: bind one (Qiniu portal: bucket -> domains) or set `download.base_url`")
            base = chosen
        with self._bases_lock:
            self._download_bases[bucket] = base
        return base

    def persist_regions(self, store: ValueStore | None) -> None:
        """Keep uc region answers in ``store`` (the state file) so later runs within their ttl
        do not ask uc again; the key is a hash (no access key in the store)."""
        self.resolver.persist(store, self.credentials.access_key)

    def close(self) -> None:
        """Release pooled connections."""
        self.http.close()

    def __enter__(self) -> KodoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KodoClient({self.credentials!r}, {self.hosts!r})"
