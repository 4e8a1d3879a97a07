"""uc's answers in "Kodo's internet" mode: a bucket's region described with real host names.

Shapes follow kodo-protocol.md §1.2 (what qiniu 7.18.0's ``_get_region_from_query`` reads:
``region``, ``ttl``, ``up.domains``, ``up.acc_domains``, ``io``/``rs``/``rsf``/``api``/``uc``
``.domains``, ``s3.region_alias``). Domains are bare host names: the SDK adds the scheme.
"""

from __future__ import annotations

from kodo_jobs.emulator.jsontypes import JsonObject
from kodo_jobs.emulator.regions import TTL, UC_HOSTS, Region


def v4_host_entry(region: Region, bucket: str) -> JsonObject:
    """One entry of ``/v4/query``'s ``hosts`` list."""
    return {
        "region": region.id,
        "ttl": TTL,
        "up": {"domains": list(region.up), "old": list(region.up_old),
               "acc_domains": [region.accelerate_host(bucket)] if bucket else []},
        "io": {"domains": list(region.io)},
        "io_src": {"domains": list(region.io)},
        "rs": {"domains": list(region.rs)},
        "rsf": {"domains": list(region.rsf)},
        "api": {"domains": list(region.api)},
        "uc": {"domains": list(UC_HOSTS)},
        "s3": {"domains": list(region.s3), "region_alias": region.s3_alias},
    }


def v2_answer(region: Region, bucket: str) -> JsonObject:
    """``/v2/query``'s older single-region shape (main/backup lists per service)."""
    def pair(main: tuple[str, ...], backup: tuple[str, ...] = ()) -> dict[str, list[str]]:
        return {"main": list(main), "backup": list(backup)}

    acc = (region.accelerate_host(bucket),) if bucket else ()
    return {
        "region": region.id, "ttl": TTL,
        "up": {"acc": pair(acc or region.up), "src": pair(region.up), "old_acc": pair(region.up_old),
               "old_src": pair(region.up_old)},
        "io": {"src": pair(region.io)}, "io_src": {"src": pair(region.io)},
        "rs": {"acc": pair(region.rs)}, "rsf": {"acc": pair(region.rsf)}, "api": {"acc": pair(region.api)},
        "uc": {"acc": pair(UC_HOSTS)},
    }
