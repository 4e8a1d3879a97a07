"""A failed upload callback is the emulator's one ``CallbackFailed`` (579), raised where it happens.

Why: there used to be two classes (one in ``callbacks``, re-wrapped by ``services``); a caller
catching the wrong one let a 579 escape as a 599.
"""

from __future__ import annotations

import pytest

from kodo_jobs.emulator import callbacks, errors


@pytest.mark.parametrize("url", ["", " ; "])
def test_an_empty_callback_url_is_the_emulator_error_579(url: str) -> None:
    with pytest.raises(errors.CallbackFailed) as caught:
        callbacks.perform({"callbackUrl": url}, {}, "ak", "sk")
    assert isinstance(caught.value, errors.EmulatorError)
    assert caught.value.status == 579
    assert caught.value.message == "callbackUrl is empty"


def test_callbacks_has_no_error_class_of_its_own() -> None:
    assert vars(callbacks)["CallbackFailed"] is errors.CallbackFailed
