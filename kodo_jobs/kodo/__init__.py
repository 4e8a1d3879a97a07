"""The Kodo client: every SDK capability, typed, over one pooled ``requests.Session``.

Boundary: ``kodo/`` imports nothing from ``kodo_jobs`` outside ``kodo/``. Every failure is a
:class:`KodoError` subclass that says what to do next (retry, back off, restart, stop).
"""

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
    NoSuchBucket,
    NotFound,
    PermanentError,
    QuotaExceeded,
    RequestTimeout,
    RetryableError,
    RunFatalError,
    ServerError,
    SourceChanged,
    Throttled,
    TransportError,
    Unauthorized,
    UploadRestartRequired,
)
from .etag import EtagHasher, etag_bytes, etag_file, etag_file_v2, etag_v2
from .fetch import AsyncFetchRequest, AsyncFetchTask, FetchResult
from .fop import PfopItem, PfopStatus
from .rs import BatchOp, BatchResult, ObjectStat, ops
from .rsf import ListEntry, ListPage
from .uc import RegionHosts
from .upload.state import FinishedPart, UploadState
from .upload.uploader import UploadResult
from .urls import private_download_url, public_url, timestamp_antileech_url

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
    "NoSuchBucket",
    "NotFound",
    "ObjectStat",
    "PermanentError",
    "PfopItem",
    "PfopStatus",
    "PrefetchResult",
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
    "TrafficData",
    "TransportError",
    "Unauthorized",
    "UpTokenAuth",
    "UploadRestartRequired",
    "UploadResult",
    "UploadState",
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
