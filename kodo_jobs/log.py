"""structlog configuration: console or JSON lines on stderr, with secrets redacted.

Every log event passes :func:`redact` before it is rendered. It masks pydantic ``SecretStr``
values, every string registered with :func:`register_secret` (the target's keys are registered
when the manifest is opened), and anything shaped like a credential even when it was never
registered: ``token=...`` / ``e=...&token=...`` query parameters, ``Authorization`` header
values (``Qiniu AK:sign``, ``QBox AK:sign``, ``UpToken ...``) and upload tokens
(``AK:sign:policy``). The redaction is deliberately greedy: a false positive costs a ``***``
in a log line, a false negative leaks a key.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import MutableMapping
from typing import Any

import structlog
from pydantic import SecretStr

MASK = "***"
_registered: set[str] = set()
_reg_lock = threading.Lock()

_PATTERNS = (
    # query parameters carrying a signature or token
    re.compile(r"(?i)\b((?:up)?token|sign|signature|e?sk|secret(?:_key)?|access_key)=([^&\s\"',;]+)"),
    # Authorization header values, whatever the scheme
    re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:qiniu|qbox|uptoken|bearer|basic)\s+)?([^\s\"',]+)"),
    re.compile(r"(?i)\b(qiniu|qbox|uptoken)\s+([A-Za-z0-9_\-]{4,}:[A-Za-z0-9_\-=]+(?::[A-Za-z0-9_\-=]+)?)"),
)
# upload tokens AK:urlsafe-b64(sign):urlsafe-b64(policy) and access tokens AK:sign
_TOKEN = re.compile(r"\b[A-Za-z0-9_\-]{8,}:[A-Za-z0-9_\-]{27}=?(?::[A-Za-z0-9_\-=]{8,})?")


def register_secret(value: str | SecretStr | None) -> None:
    """Mask every later occurrence of ``value`` in log lines, reports and messages."""
    if value is None:
        return
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if raw and len(raw) >= 4:
        with _reg_lock:
            _registered.add(raw)


def redact_text(text: str) -> str:
    """Mask registered secrets and credential-shaped substrings of ``text``."""
    with _reg_lock:
        secrets = sorted(_registered, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(_sub, text)
    return _TOKEN.sub(MASK, text)


def _sub(m: re.Match[str]) -> str:
    whole = m.group(0)
    secret_start = m.start(2) - m.start(0)
    return whole[:secret_start] + MASK


def _redact_value(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: MASK if _secret_key_name(k) else _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    if isinstance(value, BaseException):
        return redact_text(str(value))
    return value


def _secret_key_name(name: object) -> bool:
    return isinstance(name, str) and name.lower() in {
        "secret_key", "sk", "access_key", "ak", "token", "uptoken", "authorization", "password",
    }


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask secrets in every field."""
    for k in list(event_dict):
        event_dict[k] = MASK if _secret_key_name(k) else _redact_value(event_dict[k])
    return event_dict


def configure(fmt: str = "console", level: str | None = None) -> None:
    """Set up structlog for a command: ``console`` (warnings and errors) or ``json`` (info and up).

    ``KODO_JOBS_LOG_LEVEL`` (debug, info, warning, error) overrides the level.
    """
    name = (level or os.environ.get("KODO_JOBS_LOG_LEVEL") or ("info" if fmt == "json" else "warning")).upper()
    numeric = logging.getLevelName(name)
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(**bind: Any) -> Any:
    """A structlog logger with ``bind`` fields."""
    return structlog.get_logger("kodo_jobs").bind(**bind)
