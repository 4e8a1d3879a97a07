"""Fixtures of the services tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulator_services.helpers import Origin, origin_fixture


@pytest.fixture
def origin() -> Iterator[Origin]:
    """A local HTTP server: fetch source, mirror origin, callback and notify receiver."""
    yield from origin_fixture()
