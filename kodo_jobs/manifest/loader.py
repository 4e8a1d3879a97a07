"""Load a manifest: bytes -> YAML with positions -> defaults merged -> validated ``Manifest``.

Every problem found on the way (YAML, ``${VAR}``, unknown fields, bad values, ``needs``) is
collected with its file, line, column and field path, and raised together as one
:class:`~kodo_jobs.manifest.errors.ManifestError` (exit 2). Nothing else ever escapes: any input,
however broken, ends in a manifest or in that error.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr, ValidationError

from kodo_jobs.manifest.errors import ManifestError, Problem
from kodo_jobs.manifest.local_paths import input_path_problems
from kodo_jobs.manifest.messages import describe, format_path, shown
from kodo_jobs.manifest.models import KIND_MODELS, NOT_DEFAULTABLE, Manifest, graph_problems
from kodo_jobs.manifest.yamlio import Parsed, PathKey, Yaml, YamlFatal, parse

MAX_BYTES = 4 * 1024 * 1024
"""Manifests larger than this are refused (long key or URL lists belong in keys_file/urls_file)."""

_LOADER_ONLY = ("path", "base_dir", "secrets")


def load(path: Path | str, env: Mapping[str, str] | None = None, *, check_paths: bool = False) -> Manifest:
    """Read and validate the manifest at ``path``; ``env`` defaults to ``os.environ``.

    ``check_paths`` (``validate``): also check the local inputs of the jobs, see
    :mod:`kodo_jobs.manifest.local_paths`.
    """
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ManifestError([Problem(name, 1, 1, "", _too_big(size))])
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ManifestError([Problem(name, 1, 1, "", f"cannot read the manifest: {reason}")]) from None
    return load_text(data, path, env, check_paths=check_paths)


def load_text(text: str | bytes, path: Path | str = "manifest.yaml", env: Mapping[str, str] | None = None,
              *, check_paths: bool = False) -> Manifest:
    """Validate manifest ``text`` as if read from ``path`` (relative paths resolve beside it)."""
    path = Path(path)
    name = str(path)
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise ManifestError([Problem(name, 1, 1, "", _too_big(len(text)))])
        raw = text
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            head = raw[: exc.start]
            line = head.count(b"\n") + 1
            col = exc.start - (head.rfind(b"\n") + 1) + 1
            raise ManifestError([Problem(name, line, col, "", "the manifest is not UTF-8 text "
                                         f"(byte 0x{raw[exc.start]:02x})")]) from None
    elif len(text) > MAX_BYTES:
        raise ManifestError([Problem(name, 1, 1, "", _too_big(len(text)))])
    absolute = path.expanduser().absolute()
    return _Load(name, absolute, os.environ if env is None else env, check_paths).run(text)


def _too_big(size: int) -> str:
    return (f"the manifest is {size / 1048576:.1f} MiB; the limit is {MAX_BYTES // 1048576} MiB "
            "(put long key or URL lists in keys_file/urls_file)")


class _Load:
    """One load: the parsed document, where each value came from, and the problems so far."""

    def __init__(self, name: str, path: Path, env: Mapping[str, str], check_paths: bool = False) -> None:
        self.check_paths = check_paths
        self.name = name
        self.path = path
        self.env = env
        self.parsed = Parsed(data=None)
        self.aliases: dict[PathKey, PathKey] = {}
        self.problems: list[Problem] = []

    def add(self, path: PathKey, message: str, at: PathKey | None = None) -> None:
        line, col = self.locate(path if at is None else at)
        self.problems.append(Problem(self.name, line, col, format_path(path), message))

    def locate(self, loc: PathKey) -> tuple[int, int]:
        """Line/column of ``loc`` or its nearest ancestor; values merged from defaults point there."""
        positions = self.parsed.positions
        for n in range(len(loc), -1, -1):
            prefix = loc[:n]
            for m in range(len(prefix), 0, -1):
                if prefix[:m] in self.aliases:
                    prefix = self.aliases[prefix[:m]] + prefix[m:]
                    break
            if prefix in positions:
                return positions[prefix]
        return (1, 1)

    def run(self, text: str) -> Manifest:
        try:
            self.parsed = parse(text, self.env)
        except YamlFatal as exc:
            raise ManifestError([Problem(self.name, exc.line, exc.col, "", exc.message)]) from None
        for raw in self.parsed.problems:
            self.problems.append(Problem(self.name, raw.line, raw.col, format_path(raw.path), raw.message))
        data = self.parsed.data
        if data is None:
            self.add((), "the manifest is empty (expected a mapping with version, target and jobs)")
            raise ManifestError(self.problems)
        if not isinstance(data, dict):
            self.add((), f"the manifest must be a mapping with version, target and jobs (got {shown(data)})")
            raise ManifestError(self.problems)
        for key in [k for k in data if k.startswith("x-")]:
            del data[key]  # extension keys: a home for YAML anchors (``x-common: &common {...}``)
        for key in _LOADER_ONLY:
            if key in data:
                self.add((key,), f"unknown field {key!r} (set by the loader, not in YAML)")
                del data[key]
        self.check_env(data)
        self.merge_defaults(data)
        graph_found = self.check_graph(data)
        manifest = self.validate(data, graph_found)
        if manifest is not None and self.check_paths and not self.problems:
            for loc, message in input_path_problems(manifest):
                self.add(loc, message)
        self.problems.sort(key=lambda p: (p.line, p.col, p.path))
        unique = list(dict.fromkeys(self.problems))
        seen: set[tuple[int, int, str]] = set()
        deduped = []
        for problem in unique:  # a defaults value is reported once, not once per job
            where = (problem.line, problem.col, problem.message)
            if where not in seen:
                seen.add(where)
                deduped.append(problem)
        if deduped or manifest is None:
            raise ManifestError(deduped or [Problem(self.name, 1, 1, "", "invalid manifest")])
        return manifest

    def check_env(self, data: dict[str, Yaml]) -> None:
        """A variable declared twice is reported at its second entry."""
        entries = data.get("env")
        if not isinstance(entries, list):
            return
        first: dict[str, int] = {}
        for i, entry in enumerate(entries):
            name = entry.get("name") if isinstance(entry, dict) else entry
            if not isinstance(name, str):
                continue
            if name in first:
                self.add(("env", i), f"{name} is declared twice (first as env[{first[name]}])")
            else:
                first[name] = i

    def merge_defaults(self, data: dict[str, Yaml]) -> None:
        defaults, jobs = data.get("defaults"), data.get("jobs")
        if not isinstance(defaults, dict) or not isinstance(jobs, list):
            return
        for i, job in enumerate(jobs):
            kind = job.get("kind") if isinstance(job, dict) else None
            if not isinstance(job, dict) or not isinstance(kind, str):
                continue
            model = KIND_MODELS.get(kind)
            if model is None:
                continue
            for key, value in defaults.items():
                if key in NOT_DEFAULTABLE or key not in model.model_fields:
                    continue
                self.deep_merge(job, key, value, ("jobs", i, key), ("defaults", key))

    def deep_merge(self, target: dict[str, Yaml], key: str, value: Yaml, at: PathKey, origin: PathKey) -> None:
        if key not in target:
            target[key] = copy.deepcopy(value)
            self.aliases[at] = origin
            return
        inner = target[key]
        if isinstance(inner, dict) and isinstance(value, dict):
            for sub, sub_value in value.items():
                self.deep_merge(inner, sub, sub_value, at + (sub,), origin + (sub,))

    def check_graph(self, data: dict[str, Yaml]) -> bool:
        jobs = data.get("jobs")
        if not isinstance(jobs, list):
            return False
        entries: list[tuple[str, list[str]]] = []
        index: list[int] = []
        for i, job in enumerate(jobs):
            name = job.get("name") if isinstance(job, dict) else None
            if isinstance(job, dict) and isinstance(name, str):
                needs = job.get("needs", [])
                entries.append((name, [n for n in needs if isinstance(n, str)] if isinstance(needs, list) else []))
                index.append(i)
        found = graph_problems(entries)
        for entry, need, message in found:
            i = index[entry]
            if need is None:
                self.add(("jobs", i, "name"), message)
            else:
                self.add(("jobs", i, "needs", need), message)
        return bool(found)

    def validate(self, data: dict[str, Yaml], graph_found: bool) -> Manifest | None:
        try:
            manifest = Manifest.model_validate(data, context={"base_dir": self.path.parent})
        except ValidationError as exc:
            already = {format_path(raw.path) for raw in self.parsed.problems}
            for err in exc.errors(include_url=False):
                if graph_found and not err["loc"] and err["type"] == "value_error":
                    continue  # the model's own needs check; already reported with locations
                if err["type"] == "too_short" and isinstance(err.get("input"), list | tuple) and err.get("input"):
                    continue  # pydantic counts only valid items; the invalid ones are reported themselves
                loc, message = describe(err, data)
                if format_path(loc) in already:
                    continue  # the value was already reported as unreadable (tag, ${VAR}, duplicate)
                self.add(loc, message)
            return None
        except (RecursionError, ValueError, TypeError) as exc:
            self.add((), f"cannot validate the manifest: {type(exc).__name__}")
            return None
        secrets = tuple(SecretStr(value) for value in dict.fromkeys(self.parsed.secrets))
        return manifest.model_copy(update={"path": self.path, "base_dir": self.path.parent, "secrets": secrets})
