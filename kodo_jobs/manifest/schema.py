"""The manifest's JSON Schema, generated from the models (``schema/manifest.schema.json``).

Regenerate the committed file after changing a model::

    python -m kodo_jobs.manifest.schema > schema/manifest.schema.json

A test fails when the committed file differs from :func:`generate`. Editors with a YAML
language server pick it up from a first line ``# yaml-language-server: $schema=<path>``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from kodo_jobs.manifest.models import KIND_MODELS, Manifest

SCHEMA_ID = "https://github.com/kodo-jobs/kodo-jobs/schema/manifest.schema.json"


def _plain(node: Any) -> Any:
    """Docstrings use reST ``code``; editors render Markdown `code`."""
    if isinstance(node, dict):
        return {k: (v.replace("``", "`") if k == "description" and isinstance(v, str) else _plain(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def generate() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a manifest file, with titles and descriptions.

    A job's required fields may come from ``defaults:``, so the schema requires only ``name``
    and ``kind`` in a job; ``kodo-jobs validate`` checks the merged result.
    """
    schema = _plain(Manifest.model_json_schema(by_alias=True, mode="validation"))
    for kind_model in KIND_MODELS.values():
        job = schema["$defs"][kind_model.__name__]
        job["required"] = [name for name in job.get("required", []) if name in ("name", "kind")]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "description": "A kodo-jobs manifest: where to run (target) and what (jobs). "
                       "Generated from kodo_jobs.manifest.models; do not edit by hand.",
        **schema,
    }


def render() -> str:
    """The schema as the exact text of the committed file."""
    return json.dumps(generate(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main() -> None:
    """Print the schema to stdout."""
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
