"""The shared pydantic base of every manifest model: frozen, strict about unknown fields."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict

FIELD_DOCS_ENV = "KODO_JOBS_FIELD_DOCS"
FIELD_DOCS = os.environ.get(FIELD_DOCS_ENV) == "1"
"""Whether the models read their fields' docstrings into ``description``s.

Only the JSON Schema generator needs them (``kodo_jobs.manifest.schema`` sets the variable in a
child process). Reading them makes pydantic fetch and parse each model's source at import, a
visible share of every command's start-up (figures: docs/bench.md), so a normal process leaves them out;
validation and error messages do not use descriptions.
"""


class Model(BaseModel):
    """Frozen, ``extra="forbid"`` base model; numbers in string fields stay strings (``prefix: 2024``)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        coerce_numbers_to_str=True,
        use_attribute_docstrings=FIELD_DOCS,
        validate_default=False,
    )
