"""structlog configuration: console or JSON lines on stderr, with secrets redacted.

Every log event passes :func:`redact` before it is rendered. It masks pydantic ``SecretStr``
values, every string registered with the current :class:`Redactor` (the target's keys are
registered when the manifest is opened), and anything shaped like a credential even when it was
never registered: passwords in URLs (``http://user:pw@host``, :func:`mask_url_credentials`),
``token=...`` / ``e=...&token=...`` query parameters, ``Authorization`` header
values (``Qiniu AK:sign``, ``QBox AK:sign``, ``UpToken ...``) and upload tokens
(``AK:sign:policy``). The redaction is deliberately greedy: a false positive costs a ``***``
in a log line, a false negative leaks a key.

The registered secrets belong to one command run, not to the process: every CLI command runs
inside :func:`redaction` (the error boundary installs a fresh :class:`Redactor`, and restores the
previous one when the command returns), so a second command in the same process, or the next
test, never sees the first one's secrets. :func:`register_secret` and :func:`redact_text` are
the installed redactor's methods; worker threads of the command see the same instance.

structlog is imported only when a line is written: importing it pulls in ``structlog.dev``,
``rich.pretty`` and ``asyncio`` (a large share of a no-op run's start-up; figures:
docs/bench.md), and a clean console run (warnings only) writes nothing. :func:`get_logger`
returns a :class:`LazyLogger` that drops events below the configured level without importing
anything.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from kodo_jobs.kodo.network import mask_url_credentials

if TYPE_CHECKING:  # structlog's own names for a processor's arguments (imported on first use only)
    from pydantic import SecretStr
    from structlog.typing import EventDict, Processor, WrappedLogger

MASK = "***"

_PATTERNS = (
    # query parameters carrying a signature or token
    re.compile(r"(?i)\b((?:up)?token|sign|signature|e?sk|secret(?:_key)?|access_key)=([^&\s\"',;]+)"),
    # Authorization header values, whatever the scheme
    re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:qiniu|qbox|uptoken|bearer|basic)\s+)?([^\s\"',]+)"),
    re.compile(r"(?i)\b(qiniu|qbox|uptoken)\s+([A-Za-z0-9_\-]{4,}:[A-Za-z0-9_\-=]+(?::[A-Za-z0-9_\-=]+)?)"),
)
# upload tokens AK:urlsafe-b64(sign):urlsafe-b64(policy) and access tokens AK:sign
_TOKEN = re.compile(r"\b[A-Za-z0-9_\-]{8,}:[A-Za-z0-9_\-]{27}=?(?::[A-Za-z0-9_\-=]{8,})?")


class Redactor:
    """The secrets registered during one command run, and the masking of text with them."""

    __slots__ = ("_lock", "_secrets")

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def register(self, value: str | SecretStr | None) -> None:
        """Mask every later occurrence of ``value`` (shorter than 4 characters: ignored)."""
        if value is None:
            return
        raw = value if isinstance(value, str) else value.get_secret_value()
        if raw and len(raw) >= 4:
            with self._lock:
                self._secrets.add(raw)

    def redact_text(self, text: str) -> str:
        """Mask registered secrets, URL credentials and credential-shaped substrings of ``text``."""
        text = mask_url_credentials(text)
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for s in secrets:
            if s in text:
                text = text.replace(s, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(_sub, text)
        return _TOKEN.sub(MASK, text)

    def redact_value(self, value: object) -> object:
        """``value`` with every string in it redacted (dicts, lists, exceptions; ``SecretStr``: masked)."""
        if isinstance(value, str):
            return self.redact_text(value)
        if _is_secret_str(value):
            return MASK
        if isinstance(value, dict):
            return {k: MASK if _secret_key_name(k) else self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.redact_value(v) for v in value)
        if isinstance(value, BaseException):
            return self.redact_text(str(value))
        return value


def _is_secret_str(value: object) -> bool:
    """Whether ``value`` is a pydantic ``SecretStr``, without importing pydantic for the question.

    This module is imported by every command, ``--help`` included, which needs no pydantic; a
    ``SecretStr`` can only exist once ``pydantic.types`` (where the class lives) is imported."""
    types = sys.modules.get("pydantic.types")
    return types is not None and isinstance(value, types.SecretStr)


_installed = Redactor()
"""The redactor of the command now running (outside any :func:`redaction`: the process's own)."""
_install_lock = threading.Lock()


def current_redactor() -> Redactor:
    """The installed redactor: the running command's."""
    return _installed


@contextmanager
def redaction(redactor: Redactor | None = None) -> Iterator[Redactor]:
    """Install ``redactor`` (a fresh one by default) for the duration, then restore the previous.

    Every CLI command runs inside one (:func:`kodo_jobs.error_handler.boundary`); tests get one
    each (tests/conftest.py), so secrets registered by one never mask the next one's output.
    """
    global _installed
    mine = Redactor() if redactor is None else redactor
    with _install_lock:
        previous, _installed = _installed, mine
    try:
        yield mine
    finally:
        with _install_lock:
            _installed = previous


def register_secret(value: str | SecretStr | None) -> None:
    """Mask every later occurrence of ``value`` in this command's log lines, reports and messages."""
    _installed.register(value)


def redact_text(text: str) -> str:
    """Mask registered secrets, URL credentials and credential-shaped substrings of ``text``."""
    return _installed.redact_text(text)


def _sub(m: re.Match[str]) -> str:
    whole = m.group(0)
    secret_start = m.start(2) - m.start(0)
    return whole[:secret_start] + MASK


def _secret_key_name(name: object) -> bool:
    return isinstance(name, str) and name.lower() in {
        "secret_key", "sk", "access_key", "ak", "token", "uptoken", "authorization", "password",
    }


def escape_console(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor of the console log: control and bidi characters in any string field
    are made visible (:func:`kodo_jobs.textsafe.escape_text`); the JSON log stays exact."""
    from kodo_jobs.textsafe import escape_text

    for k, v in event_dict.items():
        if isinstance(v, str):
            event_dict[k] = escape_text(v)
        elif isinstance(v, list | tuple):
            event_dict[k] = type(v)(escape_text(x) if isinstance(x, str) else x for x in v)
    return event_dict


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secrets in every field (with the running command's redactor)."""
    redactor = _installed
    for k in list(event_dict):
        event_dict[k] = MASK if _secret_key_name(k) else redactor.redact_value(event_dict[k])
    return event_dict


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "warn": logging.WARNING,
           "error": logging.ERROR, "exception": logging.ERROR, "critical": logging.CRITICAL}
_settings: tuple[str, int] | None = None
"""(format, numeric level) set by :func:`configure`; None: structlog's own configuration applies."""
_applied = False
_apply_lock = threading.Lock()


def configure(fmt: str = "console", level: str | None = None) -> None:
    """Set up logging for a command: ``console`` (warnings and errors) or ``json`` (info and up).

    ``KODO_JOBS_LOG_LEVEL`` (debug, info, warning, error) overrides the level. The structlog
    configuration itself is applied when the first line is written (JSON logs write one at
    once, so they apply it now).
    """
    global _settings, _applied
    name = (level or os.environ.get("KODO_JOBS_LOG_LEVEL") or ("info" if fmt == "json" else "warning")).upper()
    numeric = logging.getLevelName(name)
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    with _apply_lock:
        _settings = (fmt, numeric)
        _applied = False
    if fmt == "json":
        _structlog()


def _structlog() -> ModuleType:
    """The structlog module, configured as :func:`configure` asked (once)."""
    global _applied
    import structlog

    with _apply_lock:
        if _settings is not None and not _applied:
            fmt, numeric = _settings
            renderer: Processor
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
                    *([] if fmt == "json" else [escape_console]),
                    renderer,
                ],
                wrapper_class=structlog.make_filtering_bound_logger(numeric),
                logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
                cache_logger_on_first_use=False,
            )
            _applied = True
    return structlog


class Logger(Protocol):
    """The logger the layers below the commands are handed (a :class:`LazyLogger`, or a structlog
    logger in tests): structured events with fields, and ``bind`` for more context."""

    def bind(self, **fields: object) -> Logger:
        """A logger with ``fields`` bound to every event."""
        ...

    def debug(self, event: str | None = None, **fields: object) -> object:
        """Log at debug level."""
        ...

    def info(self, event: str | None = None, **fields: object) -> object:
        """Log at info level."""
        ...

    def warning(self, event: str | None = None, **fields: object) -> object:
        """Log at warning level."""
        ...

    def error(self, event: str | None = None, **fields: object) -> object:
        """Log at error level."""
        ...

    def exception(self, event: str | None = None, **fields: object) -> object:
        """Log at error level with the exception being handled."""
        ...


class LazyLogger:
    """A bound logger that imports and configures structlog on its first enabled event.

    Below the configured level an event costs a dictionary lookup. Without :func:`configure`
    every event goes to structlog as it is configured (tests capture logs that way).
    """

    __slots__ = ("_bound",)

    def __init__(self, bound: dict[str, object]) -> None:
        self._bound = bound

    def bind(self, **more: object) -> LazyLogger:
        """A logger with more fields bound."""
        return LazyLogger({**self._bound, **more})

    def _emit(self, method: str, event: str | None, kw: dict[str, object]) -> object:
        settings = _settings
        if settings is not None and _LEVELS.get(method, logging.CRITICAL) < settings[1]:
            return None
        real = _structlog().get_logger("kodo_jobs").bind(**self._bound)
        return getattr(real, method)(event, **kw)

    def debug(self, event: str | None = None, **kw: object) -> object:
        return self._emit("debug", event, kw)

    def info(self, event: str | None = None, **kw: object) -> object:
        return self._emit("info", event, kw)

    def warning(self, event: str | None = None, **kw: object) -> object:
        return self._emit("warning", event, kw)

    warn = warning

    def error(self, event: str | None = None, **kw: object) -> object:
        return self._emit("error", event, kw)

    def exception(self, event: str | None = None, **kw: object) -> object:
        return self._emit("exception", event, kw)

    def critical(self, event: str | None = None, **kw: object) -> object:
        return self._emit("critical", event, kw)


def get_logger(**bind: object) -> LazyLogger:
    """A logger with ``bind`` fields (structlog underneath, imported on first use)."""
    return LazyLogger(dict(bind))
