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


def test_a_kind_refuses_another_kinds_spec() -> None:
    """``KINDS[kind]`` binds the kind to its spec model: a spec of another kind is a TypeError
    (a bug in the caller), never planned as if it were the kind's own."""
    from kodo_jobs.jobs.base import JobContext
    from kodo_jobs.manifest.spec_batch import BatchJob

    spec = BatchJob.model_validate({"name": "b", "kind": "batch", "bucket": "bkt", "keys": ["k"],
                                    "op": {"stat": {}}})
    ctx = JobContext(client=None, spec=spec, state=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sync"):
        KINDS["sync"].plan(spec, ctx)
    with pytest.raises(TypeError, match="SyncJob"):
        KINDS["sync"].run([], ctx)
    assert KINDS["batch"].batch_size == 1000
    assert KINDS["cdn"].max_concurrency == 1 and KINDS["sync"].max_concurrency is None
    assert dict(KINDS["sync"].phase_batch_sizes) == {1: 1000} and dict(KINDS["batch"].phase_batch_sizes) == {}
