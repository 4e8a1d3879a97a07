"""Kodo's public regions: the ids a manifest may name, and which region a host name belongs to.

The table follows Qiniu's region/endpoint page (developer.qiniu.com/kodo/1671) and the ids the
official SDKs know (python ``qiniu/http/region.py`` ``Region.from_region_id`` builds hosts from
any id; go ``storage/region.go`` lists z0, cn-east-2, z1, z2, na0, as0). A region missing here
is still reachable with ``region: auto`` (uc answers its hosts) or explicit ``hosts:``.
"""

from __future__ import annotations

import re

REGIONS: dict[str, str] = {
    "z0": "East China (Zhejiang)",
    "cn-east-2": "East China (Zhejiang 2)",
    "z1": "North China (Hebei)",
    "z2": "South China (Guangdong)",
    "na0": "North America (Los Angeles)",
    "as0": "Asia Pacific (Singapore)",
    "ap-northeast-1": "Asia Pacific (Seoul)",
    "ap-southeast-2": "Asia Pacific (Hanoi)",
    "ap-southeast-3": "Asia Pacific (Ho Chi Minh City)",
}
"""Region id -> description."""

AUTO = "auto"
"""``region: auto``: ask uc ``/v4/query`` which hosts serve each bucket."""

# up-z2.qiniup.com, upload-cn-east-2.qiniup.com, rs-z1.qiniuapi.com, iovip-na0.qiniuio.com ...
_SERVICE_HOST = re.compile(r"^(?:up|upload|rs|rsf|api|iovip|io)-([a-z0-9-]+?)\.(?:qiniup|qiniuapi|qiniuio|qbox)\.")
_Z0_HOSTS = frozenset({"up.qiniup.com", "upload.qiniup.com", "iovip.qiniuio.com", "up.qbox.me",
                       "upload.qbox.me", "iovip.qbox.me", "rs.qbox.me", "rsf.qbox.me"})


def region_of_host(host: str) -> str | None:
    """The region id a Kodo service host name belongs to (``up-z2.qiniup.com`` -> ``z2``), if known.

    Used to name the bucket's region when Kodo answers "incorrect region, please use HOST".
    """
    name = host.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    if name in _Z0_HOSTS:
        return "z0"
    match = _SERVICE_HOST.match(name)
    return match.group(1) if match else None


def known(region_id: str) -> bool:
    """``region_id`` is in the table."""
    return region_id in REGIONS
