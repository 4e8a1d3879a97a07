"""The shared pydantic base of every manifest model: frozen, strict about unknown fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Frozen, ``extra="forbid"`` base model; numbers in string fields stay strings (``prefix: 2024``)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        coerce_numbers_to_str=True,
        use_attribute_docstrings=True,
        validate_default=False,
    )
