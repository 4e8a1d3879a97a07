"""Streamed ``multipart/form-data`` for large form uploads, checked as it arrives.

werkzeug's ``FormDataParser`` spooled the whole file part before the handler saw any field, so
a form with a forged or expired token cost its full size in disk writes before the 401. Here
werkzeug's event decoder (``sansio.multipart.MultipartDecoder``) is driven directly: fields are
collected as they come, and when the ``file`` part starts the ``before_file`` callback sees the
fields so far (the token comes first in every real client's form, SDKs and browsers alike) and
may refuse before a byte of the file is written. Sizes are capped as they stream: the file at
``limits.FORM_FILE_MAX`` (Kodo's form-upload limit, 413), the other fields at
``limits.FORM_FIELDS_MAX``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from kodo_jobs.emulator import limits
from kodo_jobs.emulator.bodies import READ, HashingFile
from kodo_jobs.emulator.errors import BadRequest
from kodo_jobs.emulator.limits import BodyTooLarge

FILE_FIELD = "file"
MAX_PARTS = 1000
"""Parts a form may have (werkzeug's default ``max_form_parts``)."""


@dataclass
class StreamedForm:
    """The fields (first value of each name) and the spooled ``file`` part."""

    fields: dict[str, str]
    spool: HashingFile | None = None
    filename: str = ""
    content_type: str | None = None


def parse_form(stream: IO[bytes], boundary: str, new_spool: Callable[[], HashingFile],
               before_file: Callable[[Mapping[str, str]], None]) -> StreamedForm:
    """Decode the form from ``stream``; the caller closes and removes ``result.spool`` (also
    when this raises: ``new_spool`` should register each file it creates)."""
    if not boundary:
        raise BadRequest("multipart boundary missing")
    decoder = MultipartDecoder(boundary.encode("latin-1", "replace"), max_parts=MAX_PARTS)
    form = StreamedForm(fields={})
    name: str | None = None
    value = bytearray()
    fields_size = 0
    writing: HashingFile | None = None  # the spool while the file part streams
    size = 0
    ended = False
    while not ended:
        chunk = stream.read(READ)
        decoder.receive_data(chunk or None)
        while True:
            try:
                event = decoder.next_event()
            except ValueError as exc:
                raise BadRequest(f"malformed multipart body: {exc}") from exc
            if isinstance(event, NeedData):
                break
            if isinstance(event, Epilogue):
                ended = True
                break
            if isinstance(event, File) and event.name == FILE_FIELD and form.spool is None:
                before_file(form.fields)
                writing = form.spool = new_spool()
                form.filename, form.content_type = event.filename, event.headers.get("content-type")
                name, size = None, 0
            elif isinstance(event, Field):
                name, writing = event.name, None
                value.clear()
            elif isinstance(event, File):  # another file part: not part of a Kodo form
                name, writing = None, None
            elif isinstance(event, Data):
                if writing is not None:
                    size += len(event.data)
                    if size > limits.FORM_FILE_MAX:
                        raise BodyTooLarge(f"a form upload's file is at most {limits.FORM_FILE_MAX} bytes "
                                           "(Kodo's limit); use a resumable upload")
                    writing.write(event.data)
                elif name is not None:
                    fields_size += len(event.data)
                    if fields_size > limits.FORM_FIELDS_MAX:
                        raise BodyTooLarge("form fields too large")
                    value += event.data
                if not event.more_data:
                    if writing is None and name is not None:
                        form.fields.setdefault(name, value.decode("utf-8", "replace"))
                    name, writing = None, None
        if not chunk and not ended:
            raise BadRequest("incomplete multipart body")
    return form
