"""Which of a bucket's domains downloads use: Kodo serves objects only on bucket domains.

The domains come from uc ``/v2/domains?tbl=<bucket>`` (the SDK's ``BucketManager.list_domains``).
The rule, in order:

1. a custom domain (one of the user's own) before a Qiniu test domain (``*.clouddn.com``,
   ``*.qiniudn.com``, ``*.qiniucdn.com``, ``*.qnssl.com``, ``*.qbox.me``): test domains are
   rate-limited, expire 30 days after a bucket is created and have no https;
2. among equals, uc's order (the first domain bound first);
3. wildcard entries (``*.example.com``, ``.example.com``) are never used: they are not hosts.

The scheme is the target's (``use_https``) for a custom domain and http for a test domain
(Qiniu's test domains serve http only). An answer that already names a scheme keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence

TEST_DOMAIN_SUFFIXES: tuple[str, ...] = (".clouddn.com", ".qiniudn.com", ".qiniucdn.com", ".qnssl.com", ".qbox.me")


def is_test_domain(domain: str) -> bool:
    """A Qiniu-provided test domain (http only, rate-limited, temporary)."""
    host = domain.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower().rstrip(".")
    return host.endswith(TEST_DOMAIN_SUFFIXES)


def choose_domain(domains: Sequence[str], scheme: str) -> str | None:
    """The base URL (``scheme://host``) to download from, by the module's rule; None when the
    bucket has no usable domain."""
    usable = [d.strip().rstrip("/") for d in domains
              if isinstance(d, str) and d.strip() and not d.strip().startswith(("*", "."))]
    if not usable:
        return None
    custom = [d for d in usable if not is_test_domain(d)]
    chosen = (custom or usable)[0]
    if "://" in chosen:
        return chosen
    return f"{scheme if custom else 'http'}://{chosen}"
