"""The batch op model's typed names: ``BatchOp.name`` is a ``BatchOpName`` literal, kept in step
with the YAML names (the field aliases) it used to compute."""

from __future__ import annotations

from typing import get_args

import pytest

from kodo_jobs.manifest.spec_batch import BatchOp, BatchOpName

PARAMS = {"move": {"bucket": "other"}, "copy": {"bucket": "other", "force": True}, "rename": {"to": "x"},
          "delete": {}, "chtype": {"type": 1}, "chgm": {"mime": "text/plain"}, "deleteAfterDays": {"days": 3},
          "chstatus": {"status": 1}, "restoreAr": {"days": 1}, "lifecycle": {}, "stat": {}}


def test_every_yaml_name_is_a_typed_name() -> None:
    assert sorted(BatchOp.wire_names()) == sorted(get_args(BatchOpName)) == sorted(PARAMS)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_name_is_the_yaml_name(name: str) -> None:
    op = BatchOp.model_validate({name: PARAMS[name]})
    assert op.name == name
    assert op.forced is (name == "copy")


def test_expire_is_deleteafterdays() -> None:
    assert BatchOp.model_validate({"expire": {"days": 2}}).name == "deleteAfterDays"
