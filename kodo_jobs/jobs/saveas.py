"""``saveas`` templating for pfop fops: one fop string per source key.

A manifest writes fops the way people think of them::

    avthumb/mp4/s/640x360|saveas/$(bucket):$(dir)$(stem).360p.mp4

and Kodo wants the ``saveas`` target as an EncodedEntryURI. :func:`expand_fops` substitutes
the variables from the source key and encodes each plain ``bucket:key`` target; a target with
no ``:`` and no variable is taken as already encoded (what the SDK's ``op_save`` produces) and
sent unchanged. A trailing ``/deleteAfterDays/<n>`` stays outside the encoded entry.

Variables, for bucket ``media`` and key ``video/a/clip.mp4``:

==============  =====================
``$(bucket)``   ``media``
``$(key)``      ``video/a/clip.mp4``
``$(dir)``      ``video/a/`` (empty for a key without ``/``; keeps the slash so
                ``$(dir)$(stem).jpg`` works at the root too)
``$(fname)``    ``clip.mp4``
``$(stem)``     ``clip``
``$(ext)``      ``.mp4`` (with its dot; empty when there is none)
==============  =====================
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from kodo_jobs.manifest.spec_pfop import FOP_VARIABLES as VARIABLES  # the validator's list too

_VAR = re.compile(r"\$\(([^)]*)\)")
_DELETE_AFTER = re.compile(r"/deleteAfterDays/\d+$")


def key_vars(bucket: str, key: str) -> dict[str, str]:
    """The template variables of one source object."""
    slash = key.rfind("/")
    directory, fname = key[: slash + 1], key[slash + 1 :]
    dot = fname.rfind(".")
    stem, ext = (fname[:dot], fname[dot:]) if dot > 0 else (fname, "")
    return {"bucket": bucket, "key": key, "dir": directory, "fname": fname, "stem": stem, "ext": ext}


def unknown_variables(template: str) -> list[str]:
    """Names used as ``$(name)`` that are not template variables (for validation messages)."""
    return [name for name in _VAR.findall(template) if name not in VARIABLES]


def render(template: str, variables: dict[str, str]) -> str:
    """Substitute ``$(name)``; an unknown name raises ValueError naming the known ones."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise ValueError(f"unknown variable $({name}) in {template!r}; use one of "
                             + ", ".join(f"$({v})" for v in VARIABLES))
        return variables[name]

    return _VAR.sub(one, template)


def encode_entry(bucket: str, key: str | None) -> str:
    """EncodedEntryURI: url-safe base64 (padded) of ``bucket:key``, or of ``bucket`` alone."""
    entry = bucket if key is None else f"{bucket}:{key}"
    return base64.urlsafe_b64encode(entry.encode("utf-8")).decode("ascii")


@dataclass(frozen=True, slots=True)
class ExpandedFop:
    """One fop after templating: the string to send and where its output should land."""

    fop: str
    outputs: tuple[tuple[str, str], ...]  # (bucket, key) of each plain saveas target


def expand_fop(fop: str, bucket: str, key: str) -> ExpandedFop:
    """Template one fop (which may hold several ``|`` stages) for one source key."""
    variables = key_vars(bucket, key)
    stages = fop.split("|")
    outputs: list[tuple[str, str]] = []
    for index, stage in enumerate(stages):
        if not stage.startswith("saveas/"):
            continue
        target = stage[len("saveas/") :]
        tail_match = _DELETE_AFTER.search(target)
        tail = tail_match.group(0) if tail_match else ""
        target = target[: len(target) - len(tail)]
        if ":" not in target and "$(" not in target:
            continue  # already an EncodedEntryURI
        rendered = render(target, variables)
        out_bucket, sep, out_key = rendered.partition(":")
        if not out_bucket:
            raise ValueError(f"saveas target {target!r} has no bucket (write $(bucket):... or name one)")
        stages[index] = "saveas/" + encode_entry(out_bucket, out_key if sep else None) + tail
        if sep and out_key:
            outputs.append((out_bucket, out_key))
    return ExpandedFop("|".join(stages), tuple(outputs))


def expand_fops(fops: Sequence[str], bucket: str, key: str) -> ExpandedFop:
    """Template every fop for one key and join them with ``;`` as ``/pfop`` expects."""
    expanded = [expand_fop(f, bucket, key) for f in fops]
    return ExpandedFop(";".join(e.fop for e in expanded), tuple(o for e in expanded for o in e.outputs))
