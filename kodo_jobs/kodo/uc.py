"""uc: the region query (``/v4/query``, no auth) and bucket administration (buckets, domains)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from . import errors
from .auth import QiniuAuth
from .config import SERVICES, Credentials, Service
from .http import HttpClient
from .jsontypes import JsonMapping, JsonObject


@dataclass(frozen=True, slots=True)
class RegionHosts:
    """One region from ``/v4/query``: base URLs per service, acceleration domains, ttl."""

    region: str
    ttl: int
    services: dict[str, tuple[str, ...]]
    up_acc: tuple[str, ...] = ()

    def hosts(self, service: Service) -> tuple[str, ...]:
        """Base URLs of ``service`` in this region (empty when uc listed none)."""
        return self.services.get(service, ())


def _domains(block: object, scheme: str) -> tuple[str, ...]:
    if not isinstance(block, dict):
        return ()
    values = block.get("domains") or []
    return tuple(d if "://" in d else f"{scheme}://{d}" for d in values if isinstance(d, str) and d)


def _texts(values: object) -> list[str]:
    """A JSON list of names as text (nothing for an empty answer)."""
    if not values:
        return []
    if not isinstance(values, Iterable):
        raise TypeError(f"expected a list, got {type(values).__name__}")
    return [str(v) for v in values]


def parse_query(body: JsonMapping, scheme: str) -> list[RegionHosts]:
    """The regions of a ``/v4/query`` answer, primary first (kodo-protocol.md §1.2)."""
    hosts = body.get("hosts")
    if not isinstance(hosts, list) or not hosts:
        raise errors.NoSuchBucket("uc returned no region for this bucket", code=631)
    regions = []
    for entry in hosts:
        if not isinstance(entry, dict):
            continue
        services: dict[str, tuple[str, ...]] = {name: _domains(entry.get(name), scheme) for name in SERVICES if name != "fusion"}
        up = entry.get("up") if isinstance(entry.get("up"), dict) else {}
        acc = tuple(f"{scheme}://{d}" if "://" not in d else d
                    for d in (up or {}).get("acc_domains") or [] if isinstance(d, str) and d)
        regions.append(RegionHosts(region=str(entry.get("region", "")), ttl=int(entry.get("ttl", 86400)),
                                   services=services, up_acc=acc))
    return regions


class UcApi:
    """``client.uc``: region lookup, bucket list, bucket domains and info."""

    def __init__(self, http: HttpClient, credentials: Credentials, uc_hosts: Callable[[], Sequence[str]],
                 scheme: str, auth: QiniuAuth | None = None) -> None:
        self._http = http
        self._credentials = credentials
        self._uc_hosts = uc_hosts
        self._scheme = scheme
        self._auth = auth or QiniuAuth(credentials)

    def query_region(self, bucket: str) -> list[RegionHosts]:
        """Ask uc which hosts serve ``bucket`` (no Authorization header; AK in the query)."""
        query = urlencode({"ak": self._credentials.access_key, "bucket": bucket})
        resp = self._http.request("GET", self._uc_hosts(), f"/v4/query?{query}")
        return parse_query(resp.json_object(), self._scheme)

    def _post(self, path: str) -> object:
        return self._http.request("POST", self._uc_hosts(), path, auth=self._auth,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"}).json()

    def buckets(self) -> list[str]:
        """Names of the account's buckets (``POST /buckets``)."""
        return _texts(self._post("/buckets"))

    def domains(self, bucket: str) -> list[str]:
        """Domains bound to ``bucket`` (``POST /v2/domains?tbl=<bucket>``)."""
        return _texts(self._post("/v2/domains?" + urlencode({"tbl": bucket})))

    def bucket_info(self, bucket: str) -> JsonObject:
        """Raw bucket settings (``POST /v2/bucketInfo?bucket=<bucket>``)."""
        value = self._post("/v2/bucketInfo?" + urlencode({"bucket": bucket}))
        return value if isinstance(value, dict) else {}
