"""Property: whatever bytes or YAML the loader gets, it returns a Manifest or raises ManifestError.

Three generators: random bytes, random YAML-ish documents built from manifest vocabulary, and
mutations (deleted/duplicated/swapped lines, flipped characters) of the example manifests.
``max_examples`` keeps the whole file to a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kodo_jobs.manifest import Manifest, ManifestError, load_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_TEXTS = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "manifests").glob("*.yaml"))]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = ["version", "target", "jobs", "defaults", "name", "kind", "sync", "batch", "fetch", "pfop", "cdn",
         "bucket", "source", "prefix", "needs", "op", "delete", "move", "keys", "select", "upload", "policy",
         "fileType", "max_delete", "concurrency", "retry", "attempts", "embedded", "endpoint", "region",
         "then", "urls", "fops", "report", "start", "end", "${HOME}", "$${x}", "${", "4MiB", "30d", "10%", "-3"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.sampled_from(WORDS), st.text(max_size=12))
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(WORDS), inner, max_size=5)),
    max_leaves=25,
)


def _check(data: str | bytes) -> None:
    try:
        result = load_text(data, "prop.yaml", env={"HOME": "/home/x"})
    except ManifestError as exc:
        assert exc.problems and all(p.line >= 1 and p.col >= 1 and p.file == "prop.yaml" for p in exc.problems)
        assert str(exc).count("\n") == len(exc.problems) - 1
    else:
        assert isinstance(result, Manifest)


@FAST
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@FAST
@given(documents)
def test_random_documents(doc: object) -> None:
    _check(yaml.safe_dump(doc, allow_unicode=True))


@FAST
@given(st.data())
def test_mutated_examples(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(EXAMPLE_TEXTS))
    lines = text.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 4))):
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "dup", "swap", "flip", "indent", "word"]))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "swap":
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "indent":
            lines[i] = data.draw(st.sampled_from([" ", "\t", "  - "])) + lines[i]
        elif action == "word":
            lines[i] = lines[i].replace(":", ": " + data.draw(st.sampled_from(WORDS)) + " #", 1)
        elif lines[i]:
            k = data.draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:k] + data.draw(st.sampled_from(list("{}[]:-&*!|>'\"%@`,#?\x00é"))) + lines[i][k + 1:]
    _check("".join(lines))
