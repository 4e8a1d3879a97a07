"""Issue 19 item 6 (validate half) and issue 15 item 10: ``validate`` checks local input paths.

What ``validate`` checks: the folder an upload sync reads (``source``) exists and is a folder;
every ``keys_file``/``urls_file`` exists, is a file and can be read. It does not check outputs
(``success_file``, ``failure_file``, ``report.out``, ``logs_dir``, a download's folder: the run
creates them), inputs that another job of the manifest writes (a ``failure_file`` retried as
``urls_file``), or the inputs of disabled jobs. ``plan`` and ``run`` load the manifest without
these checks (a missing input is reported by the job that reads it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from kodo_jobs.manifest import load

HEAD = "version: 1\ntarget: {embedded: true}\njobs:\n"


def _write(tmp_path: Path, jobs: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(HEAD + jobs, encoding="utf-8")
    return path


def test_missing_inputs_are_located_errors(tmp_path: Path, run_validate: Callable[..., Result]) -> None:
    (tmp_path / "a-folder").mkdir()
    manifest = _write(tmp_path, (
        "  - {name: up, kind: sync, source: ./nope, bucket: media}\n"
        "  - {name: b, kind: batch, bucket: media, keys_file: keys.txt, op: {delete: {}}}\n"
        "  - {name: f, kind: fetch, bucket: media, urls_file: ./a-folder}\n"
        "  - {name: p, kind: pfop, bucket: media, keys_file: gone.txt, fops: [avinfo]}\n"
    ))
    result = run_validate(str(manifest))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{manifest}:4:28: jobs[0].source: folder not found: {tmp_path / 'nope'} (the folder to upload)",
        f"{manifest}:5:43: jobs[1].keys_file: file not found: {tmp_path / 'keys.txt'}",
        f"{manifest}:6:43: jobs[2].urls_file: {tmp_path / 'a-folder'} is a folder, not a file",
        f"{manifest}:7:42: jobs[3].keys_file: file not found: {tmp_path / 'gone.txt'}",
    ]
    # plan and run load it (each job reports its own missing input when it reads it)
    assert [job.name for job in load(manifest, env={}).jobs] == ["up", "b", "f", "p"]


def test_a_source_that_is_a_file(tmp_path: Path, run_validate: Callable[..., Result]) -> None:
    (tmp_path / "site.txt").write_text("x", encoding="utf-8")
    manifest = _write(tmp_path, "  - {name: up, kind: sync, source: site.txt, bucket: media}\n")
    result = run_validate(str(manifest))
    assert result.exit_code == 2
    assert result.stderr == f"{manifest}:4:28: jobs[0].source: {tmp_path / 'site.txt'} is a file, not a folder\n"


def test_present_inputs_outputs_produced_inputs_and_disabled_jobs_pass(
        tmp_path: Path, run_validate: Callable[..., Result]) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "keys.txt").write_text("a\n", encoding="utf-8")
    manifest = _write(tmp_path, (
        "  - {name: up, kind: sync, source: ./site, bucket: media}\n"
        "  - {name: down, kind: sync, source: ./restored/here, bucket: media, direction: download}\n"
        "  - {name: b, kind: batch, bucket: media, keys_file: keys.txt, op: {stat: {}}}\n"
        "  - {name: f, kind: fetch, bucket: media, urls: ['http://a.com/x'], failure_file: out/failed.tsv,"
        " success_file: out/ok.tsv}\n"
        "  - {name: retry, kind: fetch, bucket: media, urls_file: out/failed.tsv, needs: [f]}\n"
        "  - {name: idle, kind: batch, bucket: media, keys_file: missing.txt, op: {delete: {}}, enabled: false}\n"
    ))
    result = run_validate(str(manifest))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"{manifest}: ok (6 jobs: ")


def test_every_example_manifest_validates_with_its_paths(run_validate: Callable[..., Result]) -> None:
    examples = Path(__file__).resolve().parents[2] / "manifests"
    result = run_validate(str(examples))
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(list(examples.glob("*.yaml")))
