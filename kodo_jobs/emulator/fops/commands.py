"""The fop language, simulated: parse a pfop ``fops`` value, and derive each stage's output.

Nothing here decodes media. Each known fop turns its input into a small, deterministic output
(a header naming the fop plus the SHA-1 and size of the input), so tests can check that the
right command ran on the right input without shipping ffmpeg. Input kinds are checked as Kodo
does: image fops fail a non-image, av fops a non-media input (``input_problem``). Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from kodo_jobs.emulator.jsontypes import JsonObject
from kodo_jobs.emulator.media import MediaKind, kind_of_mime

# Commands whose result is a JSON document returned in `result` (never stored as an object).
INFO_FOPS = frozenset({"avinfo", "imageInfo", "exif", "imageAve"})
# Commands that transform their input into a new object, with the MIME type of the output
# (None: keep the source MIME unless the fop names a format).
TRANSFORM_FOPS: dict[str, str | None] = {
    "avthumb": None,
    "vframe": None,
    "imageView2": None,
    "imageMogr2": None,
    "odconv": None,
    "md2html": "text/html",
    "vsample": None,
    "avconcat": None,
}
_FORMAT_MIME = {
    "mp4": "video/mp4", "m3u8": "application/vnd.apple.mpegurl", "flv": "video/x-flv",
    "webm": "video/webm", "mp3": "audio/mpeg", "aac": "audio/aac", "ogg": "audio/ogg",
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
    "gif": "image/gif", "avif": "image/avif", "pdf": "application/pdf", "html": "text/html",
}


class FopError(Exception):
    """A request-level pfop problem; `status` is the HTTP/Kodo status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class FopSpec:
    """One `;`-separated fop: its pipe stages and where its result goes."""

    cmd: str  # the whole text as submitted, echoed back in prefop `items[].cmd`
    stages: tuple[str, ...]
    save_bucket: str | None = None
    save_key: str | None = None
    delete_after_days: int | None = None


@dataclass(frozen=True, slots=True)
class Content:
    """What a simulated fop looks at: the SHA-1 and size of its input (never the bytes, so a
    large video costs one streaming hash, not its size in memory), its MIME type, and the
    kind of media its bytes hold (``media.kind_of``; None: not an image, audio or video)."""

    sha1: str
    size: int
    mime: str
    kind: MediaKind | None = None

    @classmethod
    def of(cls, data: bytes, mime: str) -> Content:
        """The content descriptor of a previous pipe stage's output: a stand-in whose kind is
        the one its MIME type names (a real fop would have produced that media)."""
        return cls(hashlib.sha1(data).hexdigest(), len(data), mime, kind_of_mime(mime))


# The media kinds each decoding fop accepts, and Kodo's error for any other input (prefop
# ``items[].error``; the av text is Kodo's, the image text follows its pattern).
IMAGE_FOPS = frozenset({"imageView2", "imageMogr2", "imageInfo", "exif", "imageAve", "watermark"})
AV_INPUTS: dict[str, frozenset[MediaKind]] = {
    "avthumb": frozenset({"audio", "video"}),
    "avinfo": frozenset({"audio", "video"}),
    "avconcat": frozenset({"audio", "video"}),
    "vframe": frozenset({"video"}),
    "vsample": frozenset({"video"}),
}
NOT_AN_IMAGE = "execute fop cmd failed: not a valid image"
NOT_MEDIA = "execute fop cmd failed: not a valid media"


def input_problem(name: str, source: Content) -> str | None:
    """Kodo's error when fop ``name`` cannot decode ``source``, else None."""
    if name in IMAGE_FOPS and source.kind != "image":
        return NOT_AN_IMAGE
    accepted = AV_INPUTS.get(name)
    if accepted is not None and source.kind not in accepted:
        return NOT_MEDIA
    return None


def _b64decode(text: str) -> str:
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode("utf-8")


def parse_fops(fops: str) -> list[FopSpec]:
    """Split a pfop `fops` value into specs; raise FopError(400) on malformed saveas."""
    specs: list[FopSpec] = []
    for raw in fops.split(";"):
        if not raw.strip():
            continue
        stages: list[str] = []
        save_bucket = save_key = None
        days: int | None = None
        for stage in raw.split("|"):
            if stage.startswith("saveas/"):
                parts = stage.split("/")
                try:
                    entry = _b64decode(parts[1])
                except (IndexError, ValueError, binascii.Error, UnicodeDecodeError) as exc:
                    raise FopError(400, f"invalid saveas entry in fop {raw!r}") from exc
                bucket, sep, key = entry.partition(":")
                if not bucket:
                    raise FopError(400, f"saveas in fop {raw!r} names no bucket")
                save_bucket, save_key = bucket, (key if sep else None)
                if len(parts) >= 4 and parts[2] == "deleteAfterDays" and parts[3].isdigit():
                    days = int(parts[3])
            elif stage.strip():
                stages.append(stage)
        if not stages:
            raise FopError(400, f"fop {raw!r} has no command")
        specs.append(FopSpec(raw, tuple(stages), save_bucket, save_key, days))
    if not specs:
        raise FopError(400, "fops is empty")
    return specs


def command_of(stage: str) -> str:
    """The command name of a pipe stage (`imageView2/1/w/100` -> `imageView2`)."""
    return stage.split("/", 1)[0]


def _format_of(stage: str) -> str | None:
    parts = stage.split("/")
    name = parts[0]
    if "format" in parts[1:-1]:
        return parts[parts.index("format") + 1]
    if name in ("avthumb", "vframe", "odconv") and len(parts) > 1:
        return parts[1]
    return None


def run_stage(stage: str, source: Content) -> tuple[bytes, str]:
    """Apply one transforming stage: a deterministic stand-in for the real output."""
    name = command_of(stage)
    if name not in TRANSFORM_FOPS:
        raise ValueError(f"unsupported fop: {name!r} (the emulator simulates "
                         f"{', '.join(sorted(set(TRANSFORM_FOPS) | INFO_FOPS))})")
    fmt = _format_of(stage)
    out_mime = TRANSFORM_FOPS[name] or _FORMAT_MIME.get(fmt or "", source.mime)
    header = (
        f"kodo-jobs emulator fop: {stage}\n"
        f"input-sha1: {source.sha1}\n"
        f"input-size: {source.size}\n"
    )
    return header.encode(), out_mime


def info_result(name: str, source: Content) -> JsonObject:
    """The JSON result of an info fop (avinfo, imageInfo...), derived from the input."""
    return {
        "format": {"format_name": source.mime, "size": str(source.size),
                   "duration": f"{source.size / 1000:.3f}"},
        "streams": [],
        "fop": name,
        "sha1": source.sha1,
    }


def default_output_key(source_key: str, spec: FopSpec, input_hash: str) -> str:
    """Key used when a fop has no saveas target: stable for the same input and command."""
    digest = hashlib.sha1(f"{spec.cmd}\n{input_hash}".encode()).digest()
    return base64.urlsafe_b64encode(b"\x16" + digest).decode()
