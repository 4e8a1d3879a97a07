"""Request body limits: every body has a cap, whatever its framing (Content-Length or chunked).

Why: a management body is read into memory to check its signature, and a chunked body has no
announced length, so without a cap a client could make the emulator buffer any amount before
answering 401 (its memory grew with the body; figures: docs/bench.md). Caps per kind of request:

* management bodies (rs, rsf, api, uc, fusion ...): :data:`MAX_SIGNED_BODY`;
* form uploads: Kodo's own limit on a form upload's file, :data:`FORM_FILE_MAX` (1 GiB; larger
  files must use resumable uploads), plus :data:`FORM_FIELDS_MAX` for the other fields;
* resumable parts and blocks: their own protocol limits (``uploads/sessions.py`` ``MAX_PART``, the block size).

``CountingInput`` wraps each request's ``wsgi.input``: it counts received bytes and enforces the
request's cap (``RequestContext.allow_body`` raises it for the upload routes). Over the cap it
raises :class:`BodyTooLarge` (413), announced lengths at the first read, chunked bodies as soon
as they pass it.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from kodo_jobs.emulator.errors import TooLarge
from kodo_jobs.emulator.stats import Stats

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.wrappers import Request

MiB = 1024 * 1024
MAX_SIGNED_BODY = 64 * MiB
"""A management request's body (batch of 1000 ops, pfop, CDN lists ...)."""
FORM_FILE_MAX = 1024 * MiB
"""Kodo's limit on the file of a form upload (1 GiB: its docs send larger files to resumable
uploads; a larger form answers 413 there)."""
FORM_FIELDS_MAX = 1 * MiB
"""All of a form upload's other fields together (token, key, x: variables, metadata)."""
LINGER_MAX = 8 * MiB
"""After a 413, up to this much more of a chunked body is read and discarded so that the
client, still sending, reliably receives the answer; past it the connection is closed."""


def form_body_max() -> int:
    """The cap on a whole form upload body (read at call time: tests scale it down)."""
    return FORM_FILE_MAX + FORM_FIELDS_MAX


class BodyTooLarge(TooLarge):
    """The body is over this request's cap (413)."""

    default_message = "request entity too large"


class CountingInput:
    """Wraps ``wsgi.input``: counts every body byte read through it and enforces ``limit``."""

    def __init__(self, stream: IO[bytes], stats: Stats, limit: int = MAX_SIGNED_BODY,
                 declared: int | None = None) -> None:
        self._stream = stream
        self._stats = stats
        self.limit = limit
        self.declared = declared
        """The Content-Length, None for a chunked body."""
        self.received = 0

    def _check(self, data: bytes) -> bytes:
        self.received += len(data)
        self._stats.add_received(len(data))
        if self.received > self.limit:
            raise BodyTooLarge(f"request body over {self.limit} bytes")
        return data

    def _before(self) -> None:
        if self.declared is not None and self.declared > self.limit:
            raise BodyTooLarge(f"request body of {self.declared} bytes is over {self.limit}")

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all when negative), within the cap."""
        self._before()
        if size is None or size < 0:
            size = self.limit - self.received + 1  # never more than one byte past the cap
        return self._check(self._stream.read(size))

    def readline(self, size: int = -1) -> bytes:
        """One line, within the cap."""
        self._before()
        if size is None or size < 0:
            size = self.limit - self.received + 1
        return self._check(self._stream.readline(size))

    def readlines(self, hint: int = -1) -> list[bytes]:
        """Every remaining line, within the cap."""
        lines = []
        while line := self.readline():
            lines.append(line)
        return lines

    def __iter__(self) -> CountingInput:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def declared_length(environ: WSGIEnvironment) -> int | None:
    """The request's Content-Length (``gate`` let only plain digits through), None when the
    body is chunked."""
    if environ.get("wsgi.input_terminated"):
        return None
    text = environ.get("CONTENT_LENGTH") or ""
    return int(text) if text.isdigit() else None


def drain_within_limit(request: Request, counting: CountingInput) -> bool:
    """Read and discard what the handler left of the body (so a kept-alive connection stays in
    step and the client, possibly still sending, reads the answer). False when the body is over
    the cap (plus :data:`LINGER_MAX` once a 413 was answered): the caller answers 413, after
    which cheroot closes the connection."""
    if counting.declared is not None and counting.declared > counting.limit:
        return False  # refused before a byte was read; never read it now
    if counting.received > counting.limit:
        counting.limit = counting.received + LINGER_MAX
    try:
        while request.stream.read(64 * 1024):
            pass
    except BodyTooLarge:
        return False
    except (OSError, ValueError):
        pass  # the client went away or broke the framing: nothing left to keep in step
    return True
