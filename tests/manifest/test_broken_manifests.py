"""A table of broken manifests: each one exits 2 through the CLI with ``file:line:col: path: message``.

Each case names the YAML, the expected field path, a fragment of the message and the line the
problem must be reported on, so a regression in location mapping fails as surely as a missing
check.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

HEAD = "version: 1\ntarget: {embedded: true}\njobs:\n"


def job(body: str) -> str:
    """HEAD plus one job whose first line is line 4."""
    return HEAD + textwrap.indent(textwrap.dedent(body).strip("\n") + "\n", "  ")


SYNC = """\
- name: site
  kind: sync
  source: ./site
  bucket: media
"""

# (id, yaml, path, message fragment, line)
CASES: list[tuple[str, str, str, str, int]] = [
    ("negative-max-delete", job(SYNC + "  max_delete: -3\n"), "jobs[0].max_delete", "must be >= 0 (got -3)", 8),
    ("bad-percent", job(SYNC + "  max_delete: 150%\n"), "jobs[0].max_delete", "<= 100%", 8),
    ("unknown-field-typo", job(SYNC + "  bukcet: media2\n"), "jobs[0].bukcet", "did you mean 'bucket'", 8),
    ("unknown-top-field", "version: 1\ntarget: {embedded: true}\njbos: []\n", "jbos", "did you mean 'jobs'", 3),
    ("wrong-kind", job("- name: a\n  kind: synk\n  source: .\n  bucket: media\n"), "jobs[0].kind",
     "did you mean 'sync'", 5),
    ("wrong-kind-lists-valid", job("- name: a\n  kind: upload\n"), "jobs[0].kind",
     "valid kinds: sync, batch, fetch, pfop, cdn", 5),
    ("missing-kind", job("- name: a\n  bucket: media\n"), "jobs[0]", "missing field 'kind'", 4),
    ("missing-bucket", job("- name: site\n  kind: sync\n  source: ./site\n"), "jobs[0].bucket", "required", 4),
    ("missing-version", "target: {embedded: true}\njobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/x']}]\n",
     "version", "required", 1),
    ("wrong-version", "version: 2\ntarget: {embedded: true}\njobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n",
     "version", "must be 1", 1),
    ("missing-target", "version: 1\njobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/x']}]\n", "target", "required", 1),
    ("two-targets", "version: 1\ntarget: {embedded: true, region: z0}\njobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n",
     "target", "exactly one of embedded", 2),
    ("no-keys", "version: 1\ntarget: {region: z0}\njobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n",
     "target", "access_key and secret_key required", 2),
    ("bad-endpoint", "version: 1\ntarget: {endpoint: 'ftp://x', access_key: a, secret_key: b}\n"
     "jobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n", "target.endpoint", "http(s) URL", 2),
    ("bad-region", "version: 1\ntarget: {region: 'Z 0', access_key: a, secret_key: b}\n"
     "jobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n", "target.region", "unknown region 'Z 0'", 2),
    ("region-typo", "version: 1\ntarget:\n  access_key: a\n  secret_key: b\n  region: cn-east-1\n"
     "jobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n", "target.region",
     "unknown region 'cn-east-1'; did you mean 'cn-east-2'?", 5),
    ("region-unknown", "version: 1\ntarget: {region: zz9, access_key: a, secret_key: b}\n"
     "jobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n", "target.region",
     "unknown region 'zz9' (known: auto, z0, cn-east-2, z1, z2", 2),
    ("hosts-partial", "version: 1\ntarget: {hosts: {up: 'http://up.local', uc: 'http://uc.local'}, access_key: a, "
     "secret_key: b}\njobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n", "target.hosts",
     "missing io, rs, rsf, api", 2),
    ("empty-jobs", HEAD.replace("jobs:\n", "jobs: []\n"), "jobs", "must not be empty", 3),
    ("jobs-not-list", HEAD.replace("jobs:\n", "jobs: {a: 1}\n"), "jobs", "must be a list", 3),
    ("job-not-mapping", job("- [a, b]\n"), "jobs[0]", "must be a mapping", 4),
    ("target-list", "version: 1\ntarget: [embedded]\njobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n",
     "target", "must be a mapping", 2),
    ("bad-name", job("- name: 'my job'\n  kind: cdn\n  refresh_urls: ['http://a.com/']\n"), "jobs[0].name", "must match", 4),
    ("duplicate-name", job(SYNC + "- name: site\n  kind: cdn\n  refresh_urls: ['http://a.com/']\n"), "jobs[1].name",
     "duplicate job name 'site'", 8),
    ("unknown-need", job(SYNC + "  needs: [buld]\n"), "jobs[0].needs[0]", "unknown job 'buld'", 8),
    ("self-need", job(SYNC + "  needs: [site]\n"), "jobs[0].needs[0]", "needs itself", 8),
    ("cycle", job("- {name: a, kind: cdn, refresh_urls: ['http://a.com/'], needs: [b]}\n"
                  "- {name: b, kind: cdn, refresh_urls: ['http://a.com/'], needs: [a]}\n"), "jobs[0].name",
     "cycle: a -> b -> a", 4),
    ("concurrency-zero", job(SYNC + "  concurrency: 0\n"), "jobs[0].concurrency", "must be >= 1 (got 0)", 8),
    ("concurrency-huge", job(SYNC + "  concurrency: 1000\n"), "jobs[0].concurrency", "must be <= 256", 8),
    ("concurrency-text", job(SYNC + "  concurrency: lots\n"), "jobs[0].concurrency", "must be an integer", 8),
    ("bad-compare", job(SYNC + "  compare: sha1\n"), "jobs[0].compare", "must be 'etag', 'size' or 'size-mtime'", 8),
    ("compare-typo", job(SYNC + "  compare: etga\n"), "jobs[0].compare", "did you mean 'etag'", 8),
    ("bad-size", job(SYNC + "  upload: {threshold: 4MB-ish}\n"), "jobs[0].upload.threshold", "must be a size", 8),
    ("bad-size-unit", job(SYNC + "  upload: {threshold: 4XB}\n"), "jobs[0].upload.threshold", "unknown size unit", 8),
    ("part-size-small", job(SYNC + "  upload: {part_size: 512KiB}\n"), "jobs[0].upload.part_size", "between 1MiB and 1GiB", 8),
    ("bad-resumable", job(SYNC + "  upload: {resumable: v3}\n"), "jobs[0].upload.resumable", "'v1' or 'v2'", 8),
    ("bad-duration", job(SYNC + "  retry: {max_wait: soon}\n"), "jobs[0].retry.max_wait", "must be a duration", 8),
    ("retry-attempts-zero", job(SYNC + "  retry:\n    attempts: 0\n"), "jobs[0].retry.attempts", "must be >= 1", 9),
    ("policy-unknown", job(SYNC + "  upload:\n    policy: {insertonly: 1}\n"), "jobs[0].upload.policy.insertonly",
     "did you mean 'insertOnly'", 9),
    ("policy-callback-no-body", job(SYNC + "  upload:\n    policy: {callbackUrl: 'http://cb/'}\n"),
     "jobs[0].upload.policy", "callbackUrl needs a non-empty callbackBody", 9),
    ("policy-filetype", job(SYNC + "  upload:\n    policy:\n      fileType: glacier\n"),
     "jobs[0].upload.policy.fileType", "storage class", 10),
    ("policy-traffic-limit", job(SYNC + "  upload:\n    policy:\n      trafficLimit: 10\n"),
     "jobs[0].upload.policy.trafficLimit", "must be >= 819200", 10),
    ("soft-delete-both", job(SYNC + "  delete: true\n  soft_delete: {trash_prefix: t/, delete_after_days: 3}\n"),
     "jobs[0].soft_delete", "exactly one of trash_prefix or delete_after_days", 9),
    ("then-empty", job(SYNC + "  then: {}\n"), "jobs[0].then", "cdn_refresh and/or pfop", 8),
    ("then-bad-url", job(SYNC + "  then: {cdn_refresh: {base_url: not-a-url}}\n"), "jobs[0].then.cdn_refresh.base_url",
     "http(s) URL", 8),
    ("batch-two-sources", job("- name: b\n  kind: batch\n  bucket: media\n  keys: [a]\n  select: {prefix: x/}\n"
                              "  op: {delete: {}}\n"), "jobs[0]", "exactly one of keys, keys_file or select", 4),
    ("batch-no-op", job("- name: b\n  kind: batch\n  bucket: media\n  keys: [a]\n"), "jobs[0].op", "required", 4),
    ("batch-two-ops", job("- name: b\n  kind: batch\n  bucket: media\n  keys: [a]\n  op: {delete: {}, stat: {}}\n"),
     "jobs[0].op", "exactly one operation", 8),
    ("batch-unknown-op", job("- name: b\n  kind: batch\n  bucket: media\n  keys: [a]\n  op: {remove: {}}\n"),
     "jobs[0].op.remove", "unknown field 'remove'", 8),
    ("batch-size-big", job("- name: b\n  kind: batch\n  bucket: media\n  keys: [a]\n  op: {delete: {}}\n"
                           "  batch_size: 5000\n"), "jobs[0].batch_size", "must be <= 1000", 9),
    ("batch-chtype", job("- name: b\n  kind: batch\n  bucket: media\n  keys: [a]\n  op: {chtype: {type: 9}}\n"),
     "jobs[0].op.chtype.type", "storage class", 8),
    ("batch-restore-days", job("- name: b\n  kind: batch\n  bucket: media\n  keys: [a]\n  op: {restoreAr: {days: 30}}\n"),
     "jobs[0].op.restoreAr.days", "must be <= 7", 8),
    ("batch-select-range", job("- name: b\n  kind: batch\n  bucket: media\n  op: {delete: {}}\n"
                               "  select: {min_size: 2MiB, max_size: 1MiB}\n"), "jobs[0].select", "min_size", 8),
    ("batch-bad-regex", job("- name: b\n  kind: batch\n  bucket: media\n  keys: [a]\n  op: {rename: {regex: '(a'}}\n"),
     "jobs[0].op.rename", "invalid regex", 8),
    ("fetch-no-urls", job("- name: f\n  kind: fetch\n  bucket: media\n"), "jobs[0]", "exactly one of urls or urls_file", 4),
    ("fetch-bad-url", job("- name: f\n  kind: fetch\n  bucket: media\n  urls: ['example.com/a.png']\n"),
     "jobs[0].urls[0]", "absolute http(s) URL", 7),
    ("fetch-bad-mode", job("- name: f\n  kind: fetch\n  bucket: media\n  urls: ['http://a/b']\n  mode: later\n"),
     "jobs[0].mode", "'sync' or 'async'", 8),
    ("pfop-bad-var", job("- name: p\n  kind: pfop\n  bucket: media\n  keys: [a.mp4]\n"
                         "  fops: ['avthumb/mp4|saveas/$(bucket):$(name).mp4']\n"), "jobs[0].fops[0]", "unknown template variable $(name)", 8),
    ("pfop-type", job("- name: p\n  kind: pfop\n  bucket: media\n  keys: [a.mp4]\n  fops: [avinfo]\n  type: 2\n"),
     "jobs[0].type", "must be 0 or 1", 9),
    ("cdn-dir-slash", job("- name: c\n  kind: cdn\n  refresh_dirs: ['https://cdn.example.com/static']\n"),
     "jobs[0].refresh_dirs[0]", "must end with '/'", 6),
    ("cdn-nothing", job("- name: c\n  kind: cdn\n"), "jobs[0]", "nothing to do", 4),
    ("cdn-report-dates", job("- name: c\n  kind: cdn\n  report: {domains: [cdn.example.com], start: 2026-02-10, "
                             "end: 2026-02-01, out: r.csv}\n"), "jobs[0].report", "must not be before start", 6),
    ("cdn-bad-date", job("- name: c\n  kind: cdn\n  report: {domains: [a.com], start: yesterday, end: 2026-01-01, out: r.csv}\n"),
     "jobs[0].report.start", "date", 6),
    ("defaults-typo", "version: 1\ntarget: {embedded: true}\ndefaults: {concurency: 3}\n"
     "jobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n", "defaults.concurency", "did you mean 'concurrency'", 3),
    ("defaults-bad-value", "version: 1\ntarget: {embedded: true}\ndefaults:\n  concurrency: -1\n"
     "jobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n", "defaults.concurrency", "must be >= 1", 4),
    ("env-missing", "version: 1\ntarget:\n  endpoint: http://127.0.0.1:9400\n  access_key: ak\n"
     "  secret_key: ${KJ_TEST_UNSET_SECRET}\njobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n",
     "target.secret_key", "environment variable KJ_TEST_UNSET_SECRET is not set", 5),
    ("duplicate-key", job(SYNC + "  bucket: other\n"), "jobs[0].bucket", "duplicate key 'bucket' (first at line 7)", 8),
    ("tab-indent", HEAD + "  - name: a\n\t kind: cdn\n", "", "invalid YAML", 5),
    ("syntax-error", HEAD + "  - name: [a\n", "", "invalid YAML", 5),
    ("norway", job(SYNC + "  prefix: no\n"), "jobs[0].prefix", "quote it", 8),
    ("needs-not-list", job(SYNC + "  needs: other\n"), "jobs[0].needs", "must be a list (got 'other')", 8),
    ("python-tag", "version: !!python/object:os.system 1\ntarget: {embedded: true}\n"
     "jobs: [{name: a, kind: cdn, refresh_urls: ['http://a.com/']}]\n", "version", "unsupported YAML tag", 1),
]


@pytest.mark.parametrize(("yaml_text", "path", "fragment", "line"),
                         [pytest.param(y, p, f, n, id=i) for i, y, p, f, n in CASES])
def test_broken_manifest_exits_2_with_located_message(
    tmp_path: Path, run_validate: Callable[..., Result], yaml_text: str, path: str, fragment: str, line: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KJ_TEST_UNSET_SECRET", raising=False)
    manifest = tmp_path / "media.yaml"
    manifest.write_text(yaml_text, encoding="utf-8")
    result = run_validate(str(manifest))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    prefix = re.escape(f"{manifest}:{line}:") + r"\d+: " + (re.escape(path) + ": " if path else "")
    matching = [ln for ln in lines if re.match(prefix, ln) and fragment in ln]
    assert matching, f"no line like {prefix!r} containing {fragment!r} in:\n{result.stderr}"


def test_case_table_is_large_and_distinct() -> None:
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)
    assert len({c[1] for c in CASES}) == len(CASES)


def test_every_problem_is_reported_at_once(tmp_path: Path, run_validate: Callable[..., Result]) -> None:
    manifest = tmp_path / "many.yaml"
    manifest.write_text(job(SYNC + "  max_delete: -3\n  compre: size\n  concurrency: 0\n"
                            "- name: x\n  kind: synk\n"), encoding="utf-8")
    result = run_validate(str(manifest))
    assert result.exit_code == 2
    problems = [ln for ln in result.stderr.splitlines() if ln.startswith(f"{manifest}:")]
    assert len(problems) == 4, result.stderr
    assert [int(p.split(":")[1]) for p in problems] == [8, 9, 10, 12]
