"""Messages that point at the fix (the first-hour review, issue "The first hour", items 5-8).

Each test reproduces what a new user met: a 401 that said only "bad token"; a missing source
folder reported three times while the manifest's other jobs were silently left out; ``run --job``
of a disabled job answering "nothing to do"; a plan of a job that ``needs`` another one with
pending changes saying "nothing to do" without saying it will be planned again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import EmulatorProc, kodo_jobs, write_manifest


def _tree(root: Path, *names: str) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"content of {name}\n")
    return root


def test_unauthorized_names_the_target_and_the_keys_to_check(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    _tree(tmp_path / "site", "a.txt")
    m = write_manifest(tmp_path, "- {name: site, kind: sync, source: ./site, bucket: e2e-bucket}", emu.url,
                       secret_key="not-the-secret")
    res = kodo_jobs("run", m)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "401" in out
    assert emu.url in out  # which target refused
    assert "access_key" in out and "secret_key" in out  # what to check
    assert "not-the-secret" not in out


def test_missing_source_is_reported_once_and_the_other_jobs_still_run(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    _tree(tmp_path / "site", "a.txt")
    m = write_manifest(tmp_path, """
        - {name: first, kind: sync, source: ./site, bucket: e2e-bucket, prefix: first/}
        - {name: broken, kind: sync, source: ./missing, bucket: e2e-bucket, prefix: broken/}
        - {name: after-broken, kind: sync, source: ./site, bucket: e2e-bucket, prefix: dep/, needs: [broken]}
        - {name: independent, kind: sync, source: ./site, bucket: e2e-bucket, prefix: ind/}
    """, emu.url)
    res = kodo_jobs("run", m)
    out = res.stdout + res.stderr
    assert res.returncode == 2, out  # invalid input, as before
    assert out.count("does not exist") == 1, out
    assert set(emu.objects()) == {"first/a.txt", "ind/a.txt"}
    assert "after-broken (sync): skipped" in out and "needs broken did not succeed" in out

    plan = kodo_jobs("plan", m)
    pout = plan.stdout + plan.stderr
    assert plan.returncode == 2, pout
    assert pout.count("does not exist") == 1, pout
    assert "job independent (sync)" in pout  # the other jobs are still planned


def test_run_job_of_a_disabled_job_says_it_is_disabled(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    _tree(tmp_path / "site", "a.txt")
    m = write_manifest(tmp_path, "- {name: off-job, kind: sync, source: ./site, bucket: e2e-bucket, enabled: false}",
                       emu.url)
    res = kodo_jobs("run", m, "--job", "off-job")
    assert res.returncode == 0, res.stderr
    assert "off-job" in res.stdout and "disabled" in res.stdout, res.stdout
    assert emu.objects() == {}


def test_plan_says_a_job_is_planned_again_after_the_job_it_needs(
        tmp_path: Path, emulator_proc: Callable[..., EmulatorProc]) -> None:
    emu = emulator_proc()
    _tree(tmp_path / "site", "a.txt")
    m = write_manifest(tmp_path, """
        - {name: upload-site, kind: sync, source: ./site, bucket: e2e-bucket}
        - name: archive
          kind: batch
          bucket: e2e-bucket
          needs: [upload-site]
          select: {prefix: a}
          op: {copy: {bucket: e2e-bucket, dest_prefix: backup/}}
    """, emu.url)
    res = kodo_jobs("plan", m)
    assert res.returncode == 0, res.stderr
    assert "job archive (batch)" in res.stdout
    assert "planned again after upload-site" in res.stdout, res.stdout
