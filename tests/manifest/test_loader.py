"""The loader on valid input: defaults, paths, ${VAR}, secrets, ordering, put policy; robustness."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kodo_jobs.manifest import (
    BatchJob,
    CdnJob,
    Manifest,
    ManifestError,
    Percent,
    SyncJob,
    load,
    load_text,
)

BASE = """\
version: 1
target: {embedded: true}
"""


def test_defaults_are_merged_deeply_and_the_job_wins(tmp_path: Path) -> None:
    m = load_text(BASE + """\
defaults:
  concurrency: 3
  bucket: media
  retry: {attempts: 2, max_wait: 1m}
  upload: {part_size: 8MiB}
jobs:
  - {name: a, kind: sync, source: src, retry: {attempts: 9}, upload: {threshold: 1MiB}}
  - {name: b, kind: batch, keys: [k], op: {delete: {}}, concurrency: 5}
  - {name: c, kind: cdn, refresh_urls: ['http://a.com/x']}
""", tmp_path / "m.yaml", env={})
    a, b, c = m.jobs
    assert isinstance(a, SyncJob) and isinstance(b, BatchJob) and isinstance(c, CdnJob)
    assert (a.concurrency, b.concurrency, c.concurrency) == (3, 5, 3)
    assert a.retry.attempts == 9 and a.retry.max_wait == 60.0
    assert c.retry.attempts == 2
    assert a.bucket == "media" and b.bucket == "media"
    assert a.upload.part_size == 8 * 1024**2 and a.upload.threshold == 1024**2
    assert not hasattr(c, "bucket")


def test_relative_paths_resolve_beside_the_manifest(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "m.yaml"
    path.parent.mkdir()
    path.write_text(BASE + """\
jobs:
  - {name: a, kind: sync, source: ./site, bucket: media}
  - {name: b, kind: batch, bucket: media, keys_file: ../keys.txt, op: {stat: {}}}
  - {name: c, kind: sync, source: /abs/dir, bucket: media}
""", encoding="utf-8")
    m = load(path, env={})
    assert m.path == path and m.path.is_absolute()
    assert m.base_dir == path.parent
    assert m.jobs[0].source == path.parent / "site"  # type: ignore[union-attr]
    assert m.jobs[1].keys_file == path.parent / ".." / "keys.txt"  # type: ignore[union-attr]
    assert m.jobs[2].source == Path("/abs/dir")  # type: ignore[union-attr]


def test_env_interpolation_escape_default_and_secrets(tmp_path: Path) -> None:
    env = {"AK": "ak-123", "SK": "very-secret-sk", "PFX": "site"}
    m = load_text("""\
version: 1
env: [PFX, MISSING]
target:
  endpoint: http://127.0.0.1:9400
  access_key: ${AK}
  secret_key: "${SK}"
jobs:
  - name: a
    kind: sync
    source: .
    bucket: media
    prefix: "${PFX}/$${literal}/${MISSING:-dflt}/"
    upload: {policy: {returnBody: '{"k":"$$(key)","n":"$${fname}"}'}}
""", tmp_path / "m.yaml", env=env)
    assert m.target.access_key is not None and m.target.secret_key is not None
    assert m.target.access_key.get_secret_value() == "ak-123"
    assert m.target.secret_key.get_secret_value() == "very-secret-sk"
    job = m.jobs[0]
    assert isinstance(job, SyncJob)
    assert job.prefix == "site/${literal}/dflt/"
    assert job.upload.policy.return_body == '{"k":"$$(key)","n":"${fname}"}'
    assert "very-secret-sk" not in repr(m) and "very-secret-sk" not in str(m.model_dump())


def test_missing_variables_are_all_named_without_values(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        load_text(BASE.replace("{embedded: true}", "{region: z0, access_key: '${NO_AK}', secret_key: '${NO_SK}'}")
                  + "env: [NO_PATH]\njobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/${NO_PATH}']}]\n",
                  tmp_path / "m.yaml", env={"UNRELATED": "x"})
    text = str(info.value)
    for name in ("NO_AK", "NO_SK", "NO_PATH"):
        assert f"environment variable {name} is not set" in text
    assert len(info.value.problems) == 3


def test_secret_values_never_appear_in_errors(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        load_text("version: 1\ntarget: {endpoint: 'nope', access_key: [1], secret_key: {s: hunter2-secret}}\n"
                  "jobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n", tmp_path / "m.yaml", env={})
    assert "hunter2-secret" not in str(info.value)
    assert "target.secret_key" in str(info.value)


def test_jobs_in_order_is_topological_and_stable(tmp_path: Path) -> None:
    m = load_text(BASE + """\
jobs:
  - {name: d, kind: cdn, refresh_urls: ['http://a.com/'], needs: [c, a]}
  - {name: a, kind: cdn, refresh_urls: ['http://a.com/']}
  - {name: c, kind: cdn, refresh_urls: ['http://a.com/'], needs: [b]}
  - {name: b, kind: cdn, refresh_urls: ['http://a.com/']}
  - {name: e, kind: cdn, refresh_urls: ['http://a.com/']}
""", tmp_path / "m.yaml", env={})
    assert [j.name for j in m.jobs_in_order()] == ["a", "b", "c", "d", "e"]
    assert m.job("c").needs == ("b",)
    with pytest.raises(KeyError):
        m.job("zz")


def test_put_policy_dict_has_only_set_fields_by_wire_name(tmp_path: Path) -> None:
    m = load_text(BASE + """\
jobs:
  - name: a
    kind: sync
    source: .
    bucket: media
    upload:
      policy:
        insertOnly: 1
        fileType: archive_ir
        fsizeLimit: 1MiB
        callbackUrl: http://cb.example.com/
        callbackBody: key=$(key)
        keylimit: [a, b]
        persistentWorkflowTemplateID: wf
""", tmp_path / "m.yaml", env={})
    job = m.jobs[0]
    assert isinstance(job, SyncJob)
    assert job.upload.policy.to_policy_dict() == {
        "insertOnly": 1, "fileType": 4, "fsizeLimit": 1048576, "callbackUrl": "http://cb.example.com/",
        "callbackBody": "key=$(key)", "keylimit": ["a", "b"], "persistentWorkflowTemplateID": "wf",
    }


def test_put_policy_covers_every_protocol_field() -> None:
    from kodo_jobs.manifest import PutPolicy

    wire = {f.alias or n for n, f in PutPolicy.model_fields.items()}
    expected = {"insertOnly", "isPrefixalScope", "endUser", "returnUrl", "returnBody", "callbackUrl",
                "callbackHost", "callbackBody", "callbackBodyType", "callbackFetchKey", "persistentOps",
                "persistentNotifyUrl", "persistentPipeline", "persistentType", "persistentWorkflowTemplateID",
                "forceSaveKey", "saveKey", "fsizeMin", "fsizeLimit", "detectMime", "mimeLimit", "fileType",
                "deleteAfterDays", "trafficLimit", "keylimit"}
    assert wire == expected


def test_limits_and_batch_ops(tmp_path: Path) -> None:
    m = load_text(BASE + """\
jobs:
  - {name: a, kind: sync, source: ., bucket: media, delete: true, max_delete: 10%}
  - {name: b, kind: batch, bucket: media, select: {prefix: x/, older_than: 30d}, op: {expire: {days: 3}}, max_ops: 7}
""", tmp_path / "m.yaml", env={})
    a, b = m.jobs
    assert isinstance(a, SyncJob) and isinstance(b, BatchJob)
    assert a.max_delete == Percent(10.0)
    assert b.max_ops == 7
    assert b.op.name == "deleteAfterDays" and b.op.params.model_dump() == {"days": 3}
    assert b.select is not None and b.select.older_than == 30 * 86400


def test_manifest_is_frozen(tmp_path: Path) -> None:
    m = load_text(BASE + "jobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n", tmp_path / "m.yaml", env={})
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type is an implementation detail
        m.version = 1  # type: ignore[misc]
    assert isinstance(m, Manifest) and isinstance(m.jobs, tuple)


def test_x_keys_hold_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    m = load_text(BASE + """\
x-common: &common {kind: cdn, concurrency: 2}
jobs:
  - {<<: *common, name: a, refresh_urls: ['http://a.com/']}
  - {<<: *common, name: b, refresh_urls: ['http://a.com/'], concurrency: 4}
""", tmp_path / "m.yaml", env={})
    assert [j.concurrency for j in m.jobs] == [2, 4]


def test_uses_os_environ_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KJ_TEST_BUCKET", "from-env")
    m = load_text(BASE + "env: [KJ_TEST_BUCKET]\njobs: [{name: a, kind: sync, source: ., bucket: '${KJ_TEST_BUCKET}'}]\n",
                  tmp_path / "m.yaml")
    assert m.jobs[0].bucket == "from-env"  # type: ignore[union-attr]
    assert os.environ["KJ_TEST_BUCKET"] == "from-env"


BOMB = b"""\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@pytest.mark.parametrize(("data", "fragment"), [
    (b"", "empty"),
    (b"   \n# only a comment\n", "empty"),
    (bytes(range(256)) * 4, "not UTF-8"),
    (b"version: 1\x00\n", "invalid YAML"),
    ("target: caf\xe9\n".encode("latin-1"), "not UTF-8"),
    (b"- a\n- b\n", "must be a mapping"),
    (b"just text", "must be a mapping"),
    (BOMB, "YAML bomb"),
    (b"a: " + b"[" * 2000 + b"]" * 2000, "nest"),
    (b"a: &a [*a]\n", "recursive"),
    (b"a: 1\n---\nb: 2\n", "single document"),
    (b"version: 1\n# " + b"x" * (10 * 1024 * 1024) + b"\n", "limit is 4 MiB"),
    (b"? [a]\n: 1\n", "plain strings"),
    (b"version: !!binary aGVsbG8=\n", "unsupported YAML tag"),
])
def test_hostile_input_is_always_a_manifest_error(tmp_path: Path, data: bytes, fragment: str) -> None:
    with pytest.raises(ManifestError) as info:
        load_text(data, tmp_path / "bad.yaml", env={})
    assert fragment in str(info.value)
    assert all(p.line >= 1 and p.col >= 1 for p in info.value.problems)
    assert info.value.exit_code == 2


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        load(tmp_path / "missing.yaml")
    assert str(info.value).startswith(f"{tmp_path / 'missing.yaml'}:1:1: cannot read the manifest")
    with pytest.raises(ManifestError):
        load(tmp_path)  # a folder


def test_ten_megabyte_file_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:
        fh.write(b"version: 1\njobs:\n")
        fh.write(b"  - {name: a, kind: cdn, refresh_urls: ['http://a.com/']}\n" * 200_000)
    assert path.stat().st_size > 10 * 1024 * 1024
    with pytest.raises(ManifestError, match="limit is 4 MiB"):
        load(path)
