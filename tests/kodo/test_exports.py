"""The public surface of ``kodo_jobs.kodo`` is explicit and every name resolves."""

from __future__ import annotations

import kodo_jobs.kodo as kodo


def test_all_is_sorted_unique_and_resolves() -> None:
    assert kodo.__all__ == sorted(set(kodo.__all__))
    for name in kodo.__all__:
        assert getattr(kodo, name) is not None, name


def test_public_objects_have_docstrings() -> None:
    for name in kodo.__all__:
        obj = getattr(kodo, name)
        if callable(obj) or isinstance(obj, type):
            assert (obj.__doc__ or "").strip(), name


def test_core_names_exported() -> None:
    for name in ("KodoClient", "Credentials", "Hosts", "Timeouts", "PutPolicy", "UploadState", "ListEntry",
                 "KodoError", "SourceChanged", "etag_file", "etag_bytes", "EtagHasher", "etag_v2"):
        assert name in kodo.__all__
