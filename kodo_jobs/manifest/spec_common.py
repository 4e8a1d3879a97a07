"""Fields every job kind shares (``JobBase``) and the pieces several kinds reuse.

``JobBase`` carries the name, the ``needs`` edges, concurrency, retry and the pacing/run-window
fields; ``KeySource`` is the "exactly one of keys | keys_file | select" choice of batch and pfop.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, Field, PlainValidator, WithJsonSchema, model_validator

from kodo_jobs.manifest.base import Model
from kodo_jobs.manifest.types import Duration, LocalPath, PositiveDuration, Size, StorageClass
from kodo_jobs.naming import BUCKET_PATTERN, BUCKET_RULE, MAX_KEY_BYTES, bucket_problem, key_bytes_problem
from kodo_jobs.units import kind_of

NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"

JobName = Annotated[str, Field(pattern=NAME_PATTERN, min_length=1, max_length=100)]


def check_bucket(value: object) -> str:
    """A bucket name by Kodo's rule; numbers are refused, not turned into text (``bucket: 12``)."""
    if not isinstance(value, str):
        shown = repr(value) if isinstance(value, int | float) and not isinstance(value, bool) else kind_of(value)
        raise ValueError(f"must be a bucket name written as text (got {shown}; quote it): {BUCKET_RULE}")
    problem = bucket_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def check_key(value: str) -> str:
    """An object key: at most Kodo's 750 bytes of UTF-8 (characters are not the limit: bytes are)."""
    problem = key_bytes_problem(value, "a key")
    if problem is not None:
        raise ValueError(problem)
    return value


def check_prefix(value: str) -> str:
    """A key prefix: the start of a key, so at most 750 bytes of UTF-8 too."""
    problem = key_bytes_problem(value, "a prefix")
    if problem is not None:
        raise ValueError(problem)
    return value


BucketName = Annotated[
    str,
    PlainValidator(check_bucket),
    WithJsonSchema({"type": "string", "pattern": BUCKET_PATTERN, "description": f"A Kodo bucket name: {BUCKET_RULE}."}),
]
"""A Kodo bucket name: 3..63 lowercase letters, digits or '-', starting and ending with a letter or digit."""

KeyText = Annotated[str, Field(min_length=1), AfterValidator(check_key),
                    WithJsonSchema({"type": "string", "minLength": 1,
                                    "description": f"An object key (at most {MAX_KEY_BYTES} bytes of UTF-8)."})]
"""An object key: non-empty, at most 750 bytes of UTF-8."""

PrefixText = Annotated[str, AfterValidator(check_prefix),
                       WithJsonSchema({"type": "string",
                                       "description": f"A key prefix (at most {MAX_KEY_BYTES} bytes of UTF-8)."})]
"""A key prefix (may be empty): at most 750 bytes of UTF-8."""


class RetryPolicy(Model):
    """How often and how long a failed action is retried (by error class, see DESIGN.md section 4)."""

    attempts: Annotated[int, Field(ge=1, le=100)] = 6
    """Tries per action, the first included."""
    max_wait: Duration = 30.0
    """Longest pause between two tries."""
    initial_wait: Duration = 0.5
    """First pause; doubles (with jitter) up to max_wait."""
    throttle_wait: Duration = 5.0
    """First pause after 573 (rate limited), unless the server says Retry-After."""

    @model_validator(mode="after")
    def _waits(self) -> Self:
        if self.initial_wait > self.max_wait:
            raise ValueError(f"initial_wait ({self.initial_wait:g}s) must be <= max_wait ({self.max_wait:g}s)")
        return self


class JobBase(Model):
    """Fields of every job; ``defaults:`` may set any of them except name, kind and needs."""

    name: JobName
    """Unique job name (letters, digits, '_', '.', '-')."""
    needs: tuple[JobName, ...] = ()
    """Jobs that must finish successfully before this one starts."""
    concurrency: Annotated[int, Field(ge=1, le=256)] = 8
    """Actions run in parallel."""
    retry: RetryPolicy = RetryPolicy()
    """Retry policy of each action."""
    enabled: bool = True
    """false = keep the job in the manifest but never plan or run it."""
    max_duration: PositiveDuration | None = None
    """Stop the job cleanly after this long (resumed next run)."""
    max_bytes: Size | None = None
    """Stop the job cleanly after transferring this much."""
    ops_per_second: Annotated[float, Field(gt=0)] | None = None
    """Pace requests to at most this rate."""
    bandwidth: Size | None = None
    """Pace transfers to at most this many bytes per second."""


class SoftDelete(Model):
    """Make deletes reversible: move into a trash prefix, or let Kodo expire the object later."""

    trash_prefix: Annotated[PrefixText, Field(min_length=1)] | None = None
    """Move deleted keys under this prefix (same bucket) instead of deleting."""
    delete_after_days: Annotated[int, Field(ge=1)] | None = None
    """Set deleteAfterDays on the object instead of deleting it now."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.trash_prefix is None) == (self.delete_after_days is None):
            raise ValueError("set exactly one of trash_prefix or delete_after_days")
        return self


class Select(Model):
    """Pick objects by listing the bucket: every given condition must hold."""

    prefix: PrefixText = ""
    """List only keys with this prefix."""
    suffix: str | None = None
    """Keep keys ending with this."""
    glob: str | None = None
    """Keep keys matching this glob (``*`` does not cross ``/``, ``**`` does)."""
    older_than: Duration | None = None
    """Keep objects uploaded longer ago than this."""
    newer_than: Duration | None = None
    """Keep objects uploaded within this."""
    min_size: Size | None = None
    """Keep objects at least this large."""
    max_size: Size | None = None
    """Keep objects at most this large."""
    storage_type: StorageClass | None = None
    """Keep objects of this storage class."""
    mime: str | None = None
    """Keep objects of this MIME type (``image/*`` allowed)."""

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        if self.min_size is not None and self.max_size is not None and self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size}) must be <= max_size ({self.max_size})")
        if self.older_than is not None and self.newer_than is not None and self.newer_than <= self.older_than:
            raise ValueError("newer_than must be longer than older_than, or nothing can match")
        return self


class KeySource(JobBase):
    """Jobs that act on keys: exactly one of ``keys``, ``keys_file`` or ``select``."""

    bucket: BucketName
    """The bucket holding the keys."""
    keys: Annotated[tuple[KeyText, ...], Field(min_length=1)] | None = None
    """The keys, listed inline."""
    keys_file: LocalPath | None = None
    """A file with one key per line (relative to the manifest)."""
    select: Select | None = None
    """Pick keys by listing the bucket."""

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [n for n in ("keys", "keys_file", "select") if getattr(self, n) is not None]
        if len(given) != 1:
            got = ", ".join(given) if given else "none"
            raise ValueError(f"set exactly one of keys, keys_file or select (got {got})")
        return self
