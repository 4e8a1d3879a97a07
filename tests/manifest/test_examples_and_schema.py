"""Every example manifest is valid (loader and JSON Schema); the committed schema is current and valid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kodo_jobs.manifest import load
from kodo_jobs.manifest.schema import generate, render

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schema" / "manifest.schema.json"
EXAMPLES = sorted((ROOT / "manifests").glob("*.yaml"))
REGENERATE = "regenerate with `python -m kodo_jobs.manifest.schema > schema/manifest.schema.json`"


def test_there_is_an_example_per_kind() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"quickstart.yaml", "sync.yaml", "batch.yaml", "fetch.yaml", "pfop.yaml", "cdn.yaml", "chained.yaml"} <= names
    kinds = {job.kind for p in EXAMPLES for job in load(p, env={}).jobs}
    assert kinds == {"sync", "batch", "fetch", "pfop", "cdn"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_loads(path: Path) -> None:
    manifest = load(path, env={})
    assert manifest.path == path
    assert manifest.target.embedded, "examples use the embedded emulator so they really run"


def test_quickstart_is_what_the_readme_promises() -> None:
    manifest = load(ROOT / "manifests" / "quickstart.yaml", env={})
    (job,) = manifest.jobs
    assert job.kind == "sync" and job.bucket == "quickstart" and job.prefix == "site/"
    assert job.source == ROOT / "manifests" / "quickstart-site"
    files = [p for p in job.source.rglob("*") if p.is_file()]
    assert 8 <= len(files) <= 15 and any(len(p.relative_to(job.source).parts) > 2 for p in files)


def test_chained_example_orders_by_needs() -> None:
    manifest = load(ROOT / "manifests" / "chained.yaml", env={})
    assert [j.name for j in manifest.jobs_in_order()] == ["build-site", "purge-index", "thumbs", "tidy"]


def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


def test_committed_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render(), f"schema/manifest.schema.json is stale: {REGENERATE}"


def test_schema_is_valid_json_schema_with_descriptions() -> None:
    schema = _schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == generate()
    sync = schema["$defs"]["SyncJob"]
    assert sync["additionalProperties"] is False
    assert all("description" in prop for prop in sync["properties"].values())
    assert set(schema["$defs"]["PutPolicy"]["properties"]) >= {"insertOnly", "callbackUrl", "fileType", "trafficLimit"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_validates_against_schema(path: Path) -> None:
    instance = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads unquoted dates as dates; the schema (like the loader) sees the text
    jsonschema.Draft202012Validator(_schema()).validate(json.loads(json.dumps(instance, default=str)))


@pytest.mark.parametrize("broken", [
    {"version": 1, "target": {"embedded": True}, "jobs": [{"name": "a", "kind": "sync", "source": ".", "bucket": "media",
                                                          "compre": "size"}]},
    {"version": 1, "target": {"embedded": True}, "jobs": [{"name": "a", "kind": "warp"}]},
    {"version": 1, "target": {"embedded": True}, "jobs": [{"name": "a", "kind": "sync", "source": ".", "bucket": "media",
                                                          "upload": {"threshold": "4 parsecs"}}]},
])
def test_schema_rejects_what_the_loader_rejects(broken: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(_schema()).validate(broken)


def test_reference_doc_mentions_every_field() -> None:
    """docs/manifest.md is hand-maintained; this keeps it from silently missing a field."""
    from pydantic import BaseModel

    import kodo_jobs.manifest as pkg

    doc = (ROOT / "docs" / "manifest.md").read_text(encoding="utf-8")
    models = [obj for obj in vars(pkg).values() if isinstance(obj, type) and issubclass(obj, BaseModel)]
    missing = sorted({f"{m.__name__}.{f.alias or n}" for m in models for n, f in m.model_fields.items()
                      if not f.exclude and f"`{f.alias or n}`" not in doc})
    assert not missing, f"docs/manifest.md does not mention: {missing}"
