"""The Kodo client: every SDK capability, typed, over one pooled HTTP client.

Boundary: ``kodo/`` imports nothing from ``kodo_jobs`` outside ``kodo/``. Every failure is a
:class:`KodoError` subclass that says what to do next (retry, back off, restart, stop).

The names below are imported on first use (PEP 562): a process that needs one piece, such as a
hashing worker that imports ``kodo_jobs.kodo.etag``, does not pay for the HTTP stack and
every API module (a share of start-up; figures: docs/bench.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .auth import PutPolicy, QBoxAuth, QiniuAuth, UpTokenAuth, encoded_entry, upload_token, urlsafe_b64
    from .cdn import CdnTask, CdnTaskPage, LogFile, PrefetchResult, RefreshResult, TrafficData
    from .client import KodoClient
    from .config import Credentials, Hosts, Timeouts
    from .download import DownloadResult, download_to
    from .errors import (
        AlreadyExists,
        BadRequest,
        Forbidden,
        KodoError,
        NoDomain,
        NoSuchBucket,
        NotFound,
        PermanentError,
        ProxyRefused,
        QuotaExceeded,
        RequestTimeout,
        RetryableError,
        RunFatalError,
        ServerError,
        SourceChanged,
        Throttled,
        TlsUntrusted,
        TransportError,
        Unauthorized,
        UploadRestartRequired,
        WrongRegion,
    )
    from .etag import EtagHasher, etag_bytes, etag_file, etag_file_v2, etag_v2
    from .fetch import AsyncFetchRequest, AsyncFetchTask, FetchResult
    from .fop import PfopItem, PfopStatus
    from .network import Network
    from .rs import BatchOp, BatchResult, ObjectStat, ops
    from .rsf import ListEntry, ListPage
    from .uc import RegionHosts
    from .upload.state import FinishedPart, UploadState
    from .upload.uploader import UploadResult
    from .urls import private_download_url, public_url, timestamp_antileech_url

_LAZY: dict[str, str] = {
    "AlreadyExists": "errors",
    "AsyncFetchRequest": "fetch",
    "AsyncFetchTask": "fetch",
    "BadRequest": "errors",
    "BatchOp": "rs",
    "BatchResult": "rs",
    "CdnTask": "cdn",
    "CdnTaskPage": "cdn",
    "Credentials": "config",
    "DownloadResult": "download",
    "EtagHasher": "etag",
    "FetchResult": "fetch",
    "FinishedPart": "upload.state",
    "Forbidden": "errors",
    "Hosts": "config",
    "KodoClient": "client",
    "KodoError": "errors",
    "ListEntry": "rsf",
    "ListPage": "rsf",
    "LogFile": "cdn",
    "Network": "network",
    "NoDomain": "errors",
    "NoSuchBucket": "errors",
    "NotFound": "errors",
    "ObjectStat": "rs",
    "PermanentError": "errors",
    "ProxyRefused": "errors",
    "PfopItem": "fop",
    "PfopStatus": "fop",
    "PrefetchResult": "cdn",
    "PutPolicy": "auth",
    "QBoxAuth": "auth",
    "QiniuAuth": "auth",
    "QuotaExceeded": "errors",
    "RefreshResult": "cdn",
    "RegionHosts": "uc",
    "RequestTimeout": "errors",
    "RetryableError": "errors",
    "RunFatalError": "errors",
    "ServerError": "errors",
    "SourceChanged": "errors",
    "Throttled": "errors",
    "TlsUntrusted": "errors",
    "Timeouts": "config",
    "TrafficData": "cdn",
    "TransportError": "errors",
    "Unauthorized": "errors",
    "UpTokenAuth": "auth",
    "UploadRestartRequired": "errors",
    "UploadResult": "upload.uploader",
    "UploadState": "upload.state",
    "WrongRegion": "errors",
    "download_to": "download",
    "encoded_entry": "auth",
    "etag_bytes": "etag",
    "etag_file": "etag",
    "etag_file_v2": "etag",
    "etag_v2": "etag",
    "ops": "rs",
    "private_download_url": "urls",
    "public_url": "urls",
    "timestamp_antileech_url": "urls",
    "upload_token": "auth",
    "urlsafe_b64": "auth",
}
"""Public name -> the submodule that defines it."""


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AlreadyExists",
    "AsyncFetchRequest",
    "AsyncFetchTask",
    "BadRequest",
    "BatchOp",
    "BatchResult",
    "CdnTask",
    "CdnTaskPage",
    "Credentials",
    "DownloadResult",
    "EtagHasher",
    "FetchResult",
    "FinishedPart",
    "Forbidden",
    "Hosts",
    "KodoClient",
    "KodoError",
    "ListEntry",
    "ListPage",
    "LogFile",
    "Network",
    "NoDomain",
    "NoSuchBucket",
    "NotFound",
    "ObjectStat",
    "PermanentError",
    "PfopItem",
    "PfopStatus",
    "PrefetchResult",
    "ProxyRefused",
    "PutPolicy",
    "QBoxAuth",
    "QiniuAuth",
    "QuotaExceeded",
    "RefreshResult",
    "RegionHosts",
    "RequestTimeout",
    "RetryableError",
    "RunFatalError",
    "ServerError",
    "SourceChanged",
    "Throttled",
    "Timeouts",
    "TlsUntrusted",
    "TrafficData",
    "TransportError",
    "Unauthorized",
    "UpTokenAuth",
    "UploadRestartRequired",
    "UploadResult",
    "UploadState",
    "WrongRegion",
    "download_to",
    "encoded_entry",
    "etag_bytes",
    "etag_file",
    "etag_file_v2",
    "etag_v2",
    "ops",
    "private_download_url",
    "public_url",
    "timestamp_antileech_url",
    "upload_token",
    "urlsafe_b64",
]
