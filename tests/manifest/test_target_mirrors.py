"""``target.mirrors``: an embedded bucket's mirror origin, loopback only, embedded only."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kodo_jobs.manifest.target import Target


def test_embedded_mirrors_are_loopback_urls_ending_with_a_slash() -> None:
    target = Target.model_validate({"embedded": True, "mirrors": {"mirrored": "http://127.0.0.1:8000/"}})
    assert target.mirrors == {"mirrored": "http://127.0.0.1:8000/"}
    for bad in ("http://example.com/", "http://127.0.0.1:8000", "ftp://127.0.0.1/"):
        with pytest.raises(ValidationError, match="loopback URL ending with '/'"):
            Target.model_validate({"embedded": True, "mirrors": {"mirrored": bad}})


def test_mirrors_only_apply_to_the_embedded_target() -> None:
    with pytest.raises(ValidationError, match="only applies to embedded"):
        Target.model_validate({"endpoint": "http://127.0.0.1:9/", "access_key": "a", "secret_key": "b",
                               "mirrors": {"mirrored": "http://127.0.0.1:8000/"}})
