"""What kind of media a body holds, from its first bytes (not from the MIME type a client
declared): Kodo's image and audio/video processors decode the content, so an image fop on an
HTML file fails there whatever its ``Content-Type`` said. Detection is the ``filetype``
library's magic numbers."""

from __future__ import annotations

from typing import Literal

MediaKind = Literal["image", "video", "audio"]
HEAD = 512
"""Bytes of a body's head that :func:`kind_of` looks at (filetype needs at most 262)."""


def kind_of(head: bytes) -> MediaKind | None:
    """``image``, ``video`` or ``audio`` when the bytes start like one, else None."""
    import filetype  # here, not at the top: only media processing needs it, every emulator start would pay

    if filetype.is_image(head):
        return "image"
    if filetype.is_video(head):
        return "video"
    if filetype.is_audio(head):
        return "audio"
    return None


def kind_of_mime(mime: str) -> MediaKind | None:
    """The kind a MIME type names (for the emulator's own stand-in outputs, whose bytes are
    a text header, not media)."""
    kinds: dict[str, MediaKind] = {"image": "image", "video": "video", "audio": "audio"}
    return kinds.get(mime.split("/", 1)[0].lower())
