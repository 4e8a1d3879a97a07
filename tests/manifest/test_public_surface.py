"""The public surface of ``kodo_jobs.manifest`` is explicit: ``__all__`` lists exactly what others use."""

from __future__ import annotations

import kodo_jobs.manifest as pkg
from kodo_jobs.errors import KodoJobsError
from kodo_jobs.manifest.models import KIND_MODELS, kinds_with_field


def test_all_is_exact_and_importable() -> None:
    assert sorted(pkg.__all__) == sorted(set(pkg.__all__))
    for name in pkg.__all__:
        assert hasattr(pkg, name), name
    for name in ("load", "load_text", "Manifest", "ManifestError", "Problem", "SyncJob", "BatchJob", "FetchJob",
                 "PfopJob", "CdnJob", "Target", "PutPolicy", "UploadOptions", "RetryPolicy", "Select"):
        assert name in pkg.__all__


def test_manifest_error_contract() -> None:
    err = pkg.ManifestError([pkg.Problem("m.yaml", 3, 5, "jobs[0].bucket", "required field is missing"),
                             pkg.Problem("m.yaml", 1, 1, "", "the manifest is empty")])
    assert isinstance(err, KodoJobsError) and err.exit_code == 2
    assert str(err) == "m.yaml:3:5: jobs[0].bucket: required field is missing\nm.yaml:1:1: the manifest is empty"


def test_every_kind_is_registered_and_common_fields_are_everywhere() -> None:
    assert list(KIND_MODELS) == ["sync", "batch", "fetch", "pfop", "cdn"]
    for field in ("name", "needs", "concurrency", "retry", "enabled", "max_duration", "max_bytes",
                  "ops_per_second", "bandwidth"):
        assert kinds_with_field(field) == list(KIND_MODELS)
    assert kinds_with_field("bucket") == ["sync", "batch", "fetch", "pfop"]
