"""Issue 15 item 15: Kodo's naming rules at validate time.

Bucket names: 3-63 characters, lowercase letters, digits and ``-``, starting and ending with a
letter or digit (Qiniu's mkbucketv3 rule); keys and prefixes: at most 750 bytes of UTF-8.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from kodo_jobs.manifest import ManifestError, load_text
from kodo_jobs.naming import bucket_problem

HEAD = "version: 1\ntarget: {embedded: true}\njobs:\n"
RULE = "3-63 lowercase letters, digits or '-', starting and ending with a letter or digit"


def _sync(bucket: str, extra: str = "") -> str:
    return HEAD + f"  - {{name: a, kind: sync, source: ., bucket: {bucket}{extra}}}\n"


def _col(text: str, field: str) -> int:
    """1-based column of ``field:`` on the last line of ``text`` (where the job is)."""
    return text.splitlines()[-1].index(f"{field}:") + 1


def _problems(text: str) -> list[tuple[int, int, str, str]]:
    with pytest.raises(ManifestError) as info:
        load_text(text)
    return [(p.line, p.col, p.path, p.message) for p in info.value.problems]


@pytest.mark.parametrize("name", ["'My_Bucket'", "ab", "'a_b'", "Media", "-media", "media-", "'a.b.c'", "'x' ",
                                  "'" + "a" * 64 + "'", "'médias'", "'me dia'"])
def test_bad_bucket_names_do_not_validate(name: str) -> None:
    shown = repr(name.strip().strip("'"))
    text = _sync(name)
    assert _problems(text) == [(4, _col(text, "bucket"), "jobs[0].bucket", f"{shown} is not a Kodo bucket name: use {RULE}")]


@pytest.mark.parametrize("name", ["12", "2024", "1.5"])
def test_a_number_is_not_a_bucket_name(name: str) -> None:
    text = _sync(name)
    assert _problems(text) == [(4, _col(text, "bucket"), "jobs[0].bucket",
                                f"must be a bucket name written as text (got {name}; quote it): {RULE}")]


@pytest.mark.parametrize("name", ["abc", "media", "my-bucket-2024", "0-9", "a" * 63, "'2024'"])
def test_good_bucket_names_validate(name: str) -> None:
    manifest = load_text(_sync(name))
    assert manifest.jobs[0].bucket == name.strip("'")


def test_every_bucket_field_checks_the_rule() -> None:
    text = HEAD + (
        "  - {name: b, kind: batch, bucket: media, keys: [a], op: {move: {bucket: Archive_1}}}\n"
        "  - {name: f, kind: fetch, bucket: F, urls: ['http://a.com/x']}\n"
        "  - {name: p, kind: pfop, bucket: p_p, keys: [a], fops: [avinfo]}\n"
    )
    assert [(line, path) for line, _, path, _ in _problems(text)] == [
        (4, "jobs[0].op.move.bucket"), (5, "jobs[1].bucket"), (6, "jobs[2].bucket")]


@pytest.mark.parametrize(("field", "where"), [
    ("prefix", "jobs[0].prefix"),
])
def test_prefix_over_750_utf8_bytes_is_refused(field: str, where: str) -> None:
    fits = "é" * 375  # 750 bytes
    load_text(_sync("media", f", {field}: '{fits}'"))
    too_long = "é" * 376  # 376 characters, 752 bytes: characters are not Kodo's limit, bytes are
    text = _sync("media", f", {field}: '{too_long}'")
    assert _problems(text) == [
        (4, _col(text, field), where, "a prefix may have at most 750 bytes of UTF-8 (this one has 752)")]


def test_keys_and_every_prefix_field_count_utf8_bytes() -> None:
    long_key = "键" * 251  # 753 bytes, 251 characters
    text = HEAD + (
        f"  - {{name: b, kind: batch, bucket: media, keys: ['{long_key}'], op: {{delete: {{}}}}}}\n"
        f"  - {{name: f, kind: fetch, bucket: media, prefetch: true, keys: ['{long_key}']}}\n"
        f"  - {{name: g, kind: fetch, bucket: media, urls: ['http://a.com/x'], key_prefix: '{long_key}'}}\n"
        f"  - {{name: m, kind: batch, bucket: media, keys: [a], op: {{move: {{dest_prefix: '{long_key}'}}}}}}\n"
        f"  - {{name: r, kind: batch, bucket: media, keys: [a], op: {{rename: {{to: '{long_key}'}}}}}}\n"
        f"  - {{name: s, kind: batch, bucket: media, select: {{prefix: '{long_key}'}}, op: {{stat: {{}}}}}}\n"
        f"  - {{name: t, kind: sync, source: ., bucket: media, delete: true, soft_delete: {{trash_prefix: '{long_key}'}}}}\n"
    )
    found = [(path, message) for _, _, path, message in _problems(text)]
    key_msg = "a key may have at most 750 bytes of UTF-8 (this one has 753)"
    prefix_msg = "a prefix may have at most 750 bytes of UTF-8 (this one has 753)"
    assert found == [
        ("jobs[0].keys[0]", key_msg), ("jobs[1].keys[0]", key_msg), ("jobs[2].key_prefix", prefix_msg),
        ("jobs[3].op.move.dest_prefix", prefix_msg), ("jobs[4].op.rename.to", key_msg),
        ("jobs[5].select.prefix", prefix_msg), ("jobs[6].soft_delete.trash_prefix", prefix_msg),
    ]


def test_validate_command_refuses_bucket_12(tmp_path: Path, run_validate: Callable[..., Result]) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(_sync("12"), encoding="utf-8")
    result = run_validate(str(manifest))
    assert result.exit_code == 2
    assert result.stderr == (f"{manifest}:4:{_col(_sync('12'), 'bucket')}: jobs[0].bucket: must be a bucket name written as text "
                             f"(got 12; quote it): {RULE}\n")


def test_the_rule_itself() -> None:
    assert bucket_problem("abc") is None
    assert bucket_problem("a" * 63) is None
    assert bucket_problem("a--b") is None  # Kodo's rule does not forbid adjacent hyphens
    assert bucket_problem("ABC") == f"'ABC' is not a Kodo bucket name: use {RULE}"
