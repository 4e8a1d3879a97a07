"""Issue 15 item 16: a job kind that cannot be imported is a bug, reported as one.

The registry used to turn ``ImportError``/``AttributeError`` into a usage error ("not available
in this build", exit 2), which hid a broken install or a typo behind an input error.
"""

from __future__ import annotations

import pytest

from kodo_jobs.errors import UsageError
from kodo_jobs.jobs import KINDS, _Registry


def test_a_kind_whose_module_is_missing_raises_the_import_error() -> None:
    registry = _Registry({"broken": "kodo_jobs.jobs.no_such_kind_module"})
    with pytest.raises(ModuleNotFoundError) as info:
        registry["broken"]
    assert not isinstance(info.value, UsageError)
    assert info.value.name == "kodo_jobs.jobs.no_such_kind_module"


def test_a_kind_module_without_kind_raises_attribute_error() -> None:
    registry = _Registry({"nokind": "kodo_jobs.jobs.keys"})
    with pytest.raises(AttributeError, match="KIND"):
        registry["nokind"]


def test_an_unknown_kind_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        KINDS["warp"]


def test_every_manifest_kind_loads() -> None:
    from kodo_jobs.manifest import KIND_MODELS

    assert sorted(KINDS) == sorted(KIND_MODELS)
    assert {name: KINDS[name].kind for name in KINDS} == {name: name for name in KIND_MODELS}
