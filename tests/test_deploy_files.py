"""The operator files (issue 17 part 3): Kubernetes, systemd, Dockerfile, pre-commit, docs/ci.md.

Every Kubernetes manifest parses with the fields the API server requires; every ``kodo-jobs``
command line written in deploy/, the Dockerfile, .pre-commit-hooks.yaml, docs/ci.md and the
README parses with the real click CLI (``make_context``: options, types and choices checked,
nothing executed), and its ``--shard`` value with the run's own parser. The Dockerfile's install
step itself runs in CI (.ci/run: deploy/docker-install.sh in a fresh venv, then the quick start).
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from kodo_jobs.cli import cli
from kodo_jobs.pipeline.shard import parse_shard

ROOT = Path(__file__).resolve().parent.parent
K8S = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
_VARS = re.compile(r"\$\{\{[^}]*\}\}|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$\([A-Za-z_][A-Za-z0-9_]*\)|\$[A-Za-z_][A-Za-z0-9_]*|\{\}")
_AT_COMMAND = re.compile(r"(?:(?<=^)|(?<=[\s;&|(\"'/]))kodo-jobs(?=\s)")
_FENCE = re.compile(r"^(\s*)(```|~~~)")
_REDIRECT = re.compile(r"\s\d?(?:>>?|<)&?\s*[^\s|;&]+")
"""A shell redirection (``2>>log``, ``> plan.md``): not an argument."""
_WRAPPERS = frozenset({"exec", "sudo", "time", "nice", "nohup", "env", "then", "do", "xargs", "timeout", "run"})
"""Words after which ``kodo-jobs`` is still a command (``exec kodo-jobs ...``)."""


def parse_command(args: list[str]) -> click.Context:
    """``kodo-jobs ARGS`` through the real CLI's parser (no command runs); raises on a usage error."""
    tokens = [_VARS.sub("0", a) for a in args]
    try:
        ctx = cli.make_context("kodo-jobs", tokens[:1])
        group: click.Group = cli
        rest = tokens[1:]
        name = tokens[0]
        while True:
            cmd = group.get_command(ctx, name)
            assert cmd is not None, f"no command {name!r} in {args}"
            ctx = cmd.make_context(name, rest if not isinstance(cmd, click.Group) else rest[:1], parent=ctx)
            if not isinstance(cmd, click.Group):
                break
            group, name, rest = cmd, rest[0], rest[1:]
    except click.exceptions.Exit as exc:  # --help / --version: what the CLI would print and exit 0
        assert exc.exit_code == 0
        return cli.make_context("kodo-jobs", [], resilient_parsing=True)
    if ctx.params.get("shard") is not None:
        parse_shard(ctx.params["shard"])
    return ctx


def commands_in_text(text: str) -> list[list[str]]:
    """The ``kodo-jobs ...`` command lines of shell text (continuations joined, comments and
    pipes/redirections cut off)."""
    out = []
    for line in text.replace("\\\n", " ").splitlines():
        for m in _AT_COMMAND.finditer(line):
            before = line[: m.start()]
            if re.search(r"(-t|--tag|--name)\s+$", before):  # docker build -t kodo-jobs: an image name
                continue
            prose = re.search(r"(?:^|\s)([A-Za-z]+)\s+$", before)
            if prose and prose.group(1) not in _WRAPPERS:  # "another kodo-jobs run holds...": output, not a command
                continue
            rest = _REDIRECT.sub(" ", _VARS.sub("0", line[m.end():]))
            lexer = shlex.shlex(rest, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            tokens: list[str] = []
            try:
                for tok in lexer:
                    if tok == ":::" or (tok and set(tok) <= set("|&;<>()")):  # ::: GNU parallel
                        break
                    tokens.append(tok)
            except ValueError:  # quoted inside a string (``args: ["kodo-jobs run ..."]``): up to the quote
                tokens = shlex.split(rest.split('"')[0], comments=True)
            out.append(tokens)
    return out


def code_blocks(markdown: str) -> str:
    """The text of the fenced code blocks of a Markdown document."""
    inside, fence, lines = False, "", []
    for line in markdown.splitlines():
        m = _FENCE.match(line)
        if m and (not inside or m.group(2) == fence):
            inside, fence = not inside, m.group(2)
            continue
        if inside:
            lines.append(line)
    return "\n".join(lines)


def _k8s_docs() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, d) for p in K8S for d in yaml.safe_load_all(p.read_text()) if d is not None]


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    if doc["kind"] == "Job":
        return doc["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    return None


def test_kubernetes_manifests_have_the_required_fields() -> None:
    docs = _k8s_docs()
    kinds = {d["kind"] for _, d in docs}
    assert {"CronJob", "Job", "PersistentVolumeClaim", "Secret", "ConfigMap"} <= kinds
    for name, d in docs:
        assert isinstance(d.get("apiVersion"), str) and isinstance(d.get("kind"), str), name
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", d["metadata"]["name"]), name
        if d["kind"] in ("CronJob", "Job", "PersistentVolumeClaim"):
            assert isinstance(d.get("spec"), dict), name
        if d["kind"] in ("Secret", "ConfigMap"):
            assert "data" in d or "stringData" in d, name
        pod = _pod_spec(d)
        if pod is not None:
            assert pod["restartPolicy"] in ("Never", "OnFailure"), name
            for c in pod["containers"]:
                assert c["name"] and c["image"], name
                mounts = {m["name"] for m in c.get("volumeMounts", [])}
                assert mounts <= {v["name"] for v in pod["volumes"]}, name
    (cron,) = [d for _, d in docs if d["kind"] == "CronJob"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid" and cron["spec"]["schedule"]
    claims = {d["metadata"]["name"] for _, d in docs if d["kind"] == "PersistentVolumeClaim"}
    secrets = {d["metadata"]["name"] for _, d in docs if d["kind"] == "Secret"}
    for _, d in docs:
        pod = _pod_spec(d)
        if pod is None:
            continue
        assert {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v} <= claims
        for c in pod["containers"]:
            assert {e["secretRef"]["name"] for e in c.get("envFrom", [])} <= secrets
    (job,) = [d for _, d in docs if d["kind"] == "Job"]
    assert job["spec"]["completionMode"] == "Indexed"
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--shard") + 1] == f"$(JOB_COMPLETION_INDEX)/{job['spec']['completions']}"


def test_the_manifest_in_the_configmap_is_valid(tmp_path: Path) -> None:
    from kodo_jobs.manifest.loader import load_text

    (cm,) = [d for _, d in _k8s_docs() if d["kind"] == "ConfigMap"]
    for name, text in cm["data"].items():
        load_text(text, tmp_path / name, env={"QINIU_ACCESS_KEY": "ak-example", "QINIU_SECRET_KEY": "sk-example"})


def test_every_kodo_jobs_command_in_kubernetes_parses() -> None:
    found = 0
    for _, d in _k8s_docs():
        pod = _pod_spec(d)
        for c in (pod or {}).get("containers", []):
            parse_command(c["args"])  # the image's ENTRYPOINT is kodo-jobs
            found += 1
    assert found == 2


def test_every_kodo_jobs_command_in_systemd_parses() -> None:
    service = configparser.ConfigParser(interpolation=None, strict=False)
    service.optionxform = str  # type: ignore[assignment,method-assign]
    service.read(ROOT / "deploy" / "systemd" / "kodo-jobs.service")
    assert service["Service"]["Type"] == "oneshot" and service["Service"]["User"]
    exec_start = shlex.split(service["Service"]["ExecStart"])
    assert exec_start[0].endswith("/kodo-jobs")
    ctx = parse_command(exec_start[1:])
    assert ctx.params["metrics_file"] is not None
    timer = configparser.ConfigParser(interpolation=None, strict=False)
    timer.read(ROOT / "deploy" / "systemd" / "kodo-jobs.timer")
    assert timer["Timer"]["OnCalendar"] and timer["Timer"]["Unit"] == "kodo-jobs.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text()
    instructions = [line.split(None, 1) for line in text.replace("\\\n", " ").splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    by = {}
    for word, rest in instructions:
        by.setdefault(word.upper(), []).append(rest.strip())
    assert re.fullmatch(r"python:3\.11-slim(@sha256:[0-9a-f]{64})?", by["FROM"][0])
    assert json.loads(by["ENTRYPOINT"][-1]) == ["kodo-jobs"]
    parse_command(json.loads(by["CMD"][-1]))
    assert by["USER"][-1] not in ("root", "0")
    assert any("/state" in v for v in by["VOLUME"])
    # the install step is the script CI runs in a fresh venv (.ci/run)
    assert any("deploy/docker-install.sh" in r for r in by["RUN"])
    assert "deploy/docker-install.sh ." in (ROOT / ".ci" / "run").read_text()
    # the commands in its comments: docker run ... IMAGE ARGS
    for line in re.sub(r"\\\n#\s*", " ", text).splitlines():
        if "docker run" in line:
            tokens = shlex.split(line.lstrip("# "), comments=True)
            rest = tokens[tokens.index("run") + 1:]
            while rest[0].startswith("-"):
                rest = rest[2:] if rest[0] in ("-v", "-e", "--volume", "--env", "--name") else rest[1:]
            parse_command(rest[1:])  # rest[0] is the image


def test_pre_commit_hook_follows_pre_commit_conventions() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))  # pre-commit's own schema check
    (hook,) = [h for h in hooks if h["id"] == "kodo-jobs-validate"]
    assert hook["language"] == "python"
    entry = shlex.split(hook["entry"])
    assert entry[0] == "kodo-jobs"
    parse_command([*entry[1:], "ops/kodo-jobs/media.yaml"])  # pre-commit appends the file names
    files = re.compile(hook["files"])
    assert files.search("ops/kodo-jobs/media.yaml") and files.search("manifests/sync.yaml")
    assert files.search("site.kodo-jobs.yml") and not files.search("docker-compose.yaml")


DOCS = sorted(str(p.relative_to(ROOT)) for p in [ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
                                                *(ROOT / "deploy").rglob("*.md")])


@pytest.mark.parametrize("doc", DOCS)
def test_every_kodo_jobs_command_in_the_docs_parses(doc: str) -> None:
    commands = commands_in_text(code_blocks((ROOT / doc).read_text()))
    if doc in ("README.md", "docs/ci.md", "deploy/kubernetes/README.md"):
        assert commands, doc  # these certainly have some: the extraction works
    for args in commands:
        try:
            parse_command(args)
        except (click.UsageError, click.BadParameter, AssertionError, IndexError) as exc:
            pytest.fail(f"{doc}: kodo-jobs {shlex.join(args)}: {exc}")


def test_every_kodo_jobs_command_in_the_deploy_scripts_parses() -> None:
    scripts = sorted((ROOT / "deploy").glob("*.sh"))
    commands = [c for p in scripts for c in commands_in_text(p.read_text())]
    assert commands
    for args in commands:
        parse_command(args)


def test_ci_doc_covers_both_platforms_and_the_review_loop() -> None:
    text = (ROOT / "docs" / "ci.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S)]
    github = yaml.safe_load(blocks[0])
    gitlab = yaml.safe_load(blocks[1])
    assert set(github["jobs"]) == {"plan", "apply"}
    assert {"validate", "plan", "apply"} <= set(gitlab)
    body = code_blocks(text)
    for needle in ("kodo-jobs validate", "--exit-code --format markdown", "-o media.kjplan",
                   "--plan media.kjplan", "secrets.QINIU_ACCESS_KEY", "secrets.QINIU_SECRET_KEY"):
        assert needle in body, needle


def test_the_parser_catches_a_bad_command() -> None:
    with pytest.raises(click.UsageError):
        parse_command(["run", "m.yaml", "--no-such-option"])
    with pytest.raises(click.BadParameter):
        parse_command(["plan", "m.yaml", "--format", "html"])
    with pytest.raises(Exception, match="--shard"):
        parse_command(["run", "m.yaml", "--shard", "4/4"])
    assert commands_in_text("docker build -t kodo-jobs .\nx && kodo-jobs run m.yaml --job a | tee log # c") == [
        ["run", "m.yaml", "--job", "a"]]
