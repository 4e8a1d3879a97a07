"""YAML text -> plain Python data plus the line/column of every node, safely.

Why not ``yaml.safe_load``: it forgets positions, silently keeps the last of duplicated keys,
and expands aliases without limit (a "billion laughs" document eats all memory). Here the
document is only *composed* (a node graph, where an alias is a shared node), then converted by
hand: every mapping key and sequence item records its 1-based ``(line, col)`` under its path
(``("jobs", 1, "max_delete")``), duplicated keys and unsupported tags are problems, alias
expansion and nesting depth are bounded, and ``${VAR}`` is interpolated in string scalars
(``$${`` is a literal ``${``; ``${VAR:-default}`` gives a default).

Expansion is explicit, so a manifest under review shows every variable it reads: the top-level
``env:`` list declares them (read first, before anything is interpolated), and only the target's
credentials read undeclared ones. A variable declared ``secret: true`` may only fill a field that
is never printed (:data:`SECRET_FIELDS`); its values are collected in :attr:`Parsed.secrets` so
they can be masked wherever they might still appear.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

PathKey = tuple[str | int, ...]

MAX_DEPTH = 64
MAX_ALIAS_EXPANSION = 100_000
_YAML = "tag:yaml.org,2002:"
_ENV_RE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Yaml: TypeAlias = str | int | float | bool | None | list["Yaml"] | dict[str, "Yaml"]
"""A converted YAML value: what the manifest models validate (only plain tags are accepted)."""

CREDENTIAL_PATHS: frozenset[PathKey] = frozenset(
    {("target", "access_key"), ("target", "secret_key"), ("target", "proxy")})
"""Where undeclared variables may expand: the credentials, usually ``${QINIU_ACCESS_KEY}``, and
the proxy URL (``${HTTPS_PROXY}``, which may carry a password)."""
SECRET_FIELDS = frozenset({"access_key", "secret_key", "anti_leech_key", "proxy"})
"""Fields whose values are never printed (``SecretStr``, or the proxy URL, whose credentials are
registered with the redactor): the only homes of a secret variable."""
SECRET_PATHS: frozenset[PathKey] = frozenset({("notify", "url")})
"""Whole paths that are never printed either (a webhook URL carries its token)."""
_RAW_SECTIONS = ("env",)
"""Top-level sections taken literally (``env:`` defaults are values, not templates)."""


@dataclass(frozen=True, slots=True)
class Declared:
    """One ``env:`` entry as far as expansion needs it."""

    secret: bool = False
    default: str | None = None


@dataclass(frozen=True, slots=True)
class RawProblem:
    """A problem found while reading YAML: path, 1-based line and column, message."""

    path: PathKey
    line: int
    col: int
    message: str


class YamlFatal(Exception):
    """The document cannot be read at all (syntax error, bomb, too deep)."""

    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.col = col
        self.message = message


@dataclass
class Parsed:
    """The converted document, the position of every node, and the non-fatal problems."""

    data: Yaml
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    problems: list[RawProblem] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    """Values of variables declared ``secret: true`` that were expanded (to be masked)."""


def _line_col(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    line = before.count("\n") + 1
    return line, index - (before.rfind("\n") + 1) + 1


def compose(text: str) -> Node | None:
    """Compose a single YAML document into a node graph, or raise :class:`YamlFatal` with a location."""
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        hint = _alias_hint(text, exc)
        if hint is not None:
            raise YamlFatal(*hint) from None
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        if mark is None:
            raise YamlFatal(1, 1, f"invalid YAML: {message}") from None
        raise YamlFatal(mark.line + 1, mark.column + 1, f"invalid YAML: {message}") from None
    except yaml.reader.ReaderError as exc:
        line, col = _line_col(text, exc.position)
        raise YamlFatal(line, col, f"invalid YAML: unacceptable character #x{exc.character!r:.8}") from None
    except yaml.YAMLError as exc:
        raise YamlFatal(1, 1, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlFatal(1, 1, f"invalid YAML: nested too deeply (the limit is {MAX_DEPTH} levels)") from None
    finally:
        loader.dispose()


_ALIAS_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_PLAIN_END = " \t\r\n,]}#"


def _alias_hint(text: str, exc: yaml.MarkedYAMLError) -> tuple[int, int, str] | None:
    """An alias error caused by an unquoted ``*...`` value (a glob, usually): say to quote it.

    ``exclude: [*.tmp]`` is YAML for "the node anchored as ``.tmp``", which is not a valid
    anchor name, and ``[*tmp]`` names an anchor nobody defined; either way the user meant text.
    """
    if exc.context == "while scanning an alias" and exc.context_mark is not None:
        mark = exc.context_mark
    elif exc.problem is not None and exc.problem.startswith("found undefined alias") and exc.problem_mark is not None:
        mark = exc.problem_mark
    else:
        return None
    line, col = mark.line + 1, mark.column + 1
    index = getattr(mark, "index", None)
    if not isinstance(index, int) or text[index:index + 1] != "*":
        return None
    end = index + 1
    while end < len(text) and text[end] not in _PLAIN_END:
        end += 1
    token = text[index:end]
    if _ALIAS_NAME_RE.match(token[1:]):
        return line, col, (f"invalid YAML: found undefined alias {token[1:]!r} (define it first with "
                           f"&{token[1:]}, or quote the value if it is not an alias: \"{token}\")")
    return line, col, ("invalid YAML: a plain value cannot start with '*' (YAML reads it as an alias): "
                       f"quote the glob, e.g. \"{token}\"")


class _Converter:
    """Walks the node graph once, bounded, recording positions and problems."""

    def __init__(self, env: Mapping[str, str], declared: Mapping[str, Declared] | None = None) -> None:
        self.env = env
        self.declared = dict(declared or {})
        self.out = Parsed(data=None)
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.repeats = 0
        self.constructor = SafeConstructor()

    def problem(self, path: PathKey, node: Node, message: str) -> None:
        mark = node.start_mark
        self.out.problems.append(RawProblem(path, mark.line + 1, mark.column + 1, message))

    def convert(self, node: Node, path: PathKey, depth: int) -> Yaml:
        key = id(node)
        if key in self.seen:
            self.repeats += 1
            if self.repeats > MAX_ALIAS_EXPANSION:
                m = node.start_mark
                raise YamlFatal(m.line + 1, m.column + 1,
                                f"aliases expand to more than {MAX_ALIAS_EXPANSION} nodes (a YAML bomb?)")
        self.seen.add(key)
        if depth > MAX_DEPTH:
            m = node.start_mark
            raise YamlFatal(m.line + 1, m.column + 1, f"nested too deeply (the limit is {MAX_DEPTH} levels)")
        if key in self.active:
            m = node.start_mark
            raise YamlFatal(m.line + 1, m.column + 1, "an alias refers to its own anchor (recursive structure)")
        self.active.add(key)
        try:
            if isinstance(node, MappingNode):
                return self.mapping(node, path, depth)
            if isinstance(node, SequenceNode):
                return self.sequence(node, path, depth)
            assert isinstance(node, ScalarNode)
            return self.scalar(node, path)
        finally:
            self.active.discard(key)

    def mapping(self, node: MappingNode, path: PathKey, depth: int) -> dict[str, Yaml]:
        if node.tag not in (_YAML + "map",):
            self.problem(path, node, f"unsupported YAML tag {node.tag!r} (only plain mappings)")
        result: dict[str, Yaml] = {}
        first_line: dict[str, int] = {}
        merged: dict[str, Yaml] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _YAML + "merge":
                merged.update(self.merge_sources(value_node, path, depth))
                continue
            if not isinstance(key_node, ScalarNode):
                self.problem(path, key_node, "mapping keys must be plain strings")
                continue
            name = str(key_node.value)
            if name in first_line:
                self.problem(path + (name,), key_node,
                             f"duplicate key {name!r} (first at line {first_line[name]})")
                continue
            first_line[name] = key_node.start_mark.line + 1
            self.out.positions[path + (name,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[name] = self.convert(value_node, path + (name,), depth + 1)
        for name, value in merged.items():
            result.setdefault(name, value)
        return result

    def merge_sources(self, node: Node, path: PathKey, depth: int) -> dict[str, Yaml]:
        """``<<: *anchor`` or ``<<: [*a, *b]`` (earlier sources win, own keys win over all)."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict[str, Yaml] = {}
        for source in sources:
            if not isinstance(source, MappingNode):
                self.problem(path, source, "'<<' merges only mappings")
                continue
            for name, value in self.mapping(source, path, depth + 1).items():
                merged.setdefault(name, value)
        return merged

    def sequence(self, node: SequenceNode, path: PathKey, depth: int) -> list[Yaml]:
        if node.tag != _YAML + "seq":
            self.problem(path, node, f"unsupported YAML tag {node.tag!r} (only plain lists)")
        items: list[Yaml] = []
        for index, item in enumerate(node.value):
            self.out.positions[path + (index,)] = (item.start_mark.line + 1, item.start_mark.column + 1)
            items.append(self.convert(item, path + (index,), depth + 1))
        return items

    def scalar(self, node: ScalarNode, path: PathKey) -> Yaml:
        tag = node.tag
        if tag == _YAML + "str":
            return self.interpolate(str(node.value), node, path)
        if tag == _YAML + "null":
            return None
        try:
            if tag == _YAML + "bool":
                return self.constructor.construct_yaml_bool(node)
            if tag == _YAML + "int":
                return self.constructor.construct_yaml_int(node)
            if tag == _YAML + "float":
                return self.constructor.construct_yaml_float(node)
        except (ValueError, yaml.YAMLError):
            self.problem(path, node, f"cannot read {node.value!r} as {tag.removeprefix(_YAML)}")
            return None
        if tag == _YAML + "timestamp":
            return str(node.value)  # dates stay text; the models parse the ones they expect
        self.problem(path, node, f"unsupported YAML tag {tag!r}")
        return None

    def interpolate(self, text: str, node: Node, path: PathKey) -> str:
        if "$" not in text:
            return text
        top = path[0] if path else ""
        if isinstance(top, str) and (top in _RAW_SECTIONS or top.startswith("x-")):
            return text  # env: values are literal; x- extension keys are dropped (aliases expand where used)

        def replace(match: re.Match[str]) -> str:
            whole = match.group(0)
            if whole == "$${":
                return "${"
            if whole == "${":
                self.problem(path, node, "unterminated '${' (write '$${' for a literal '${')")
                return whole
            expr = match.group(1) or ""
            name, sep, default = expr.partition(":-")
            if not _ENV_NAME_RE.match(name):
                self.problem(path, node, f"invalid variable name {name!r} in '${{{expr}}}' "
                                         "(write '$${' for a literal '${'; Qiniu magic variables are written $(name))")
                return ""
            declared = self.declared.get(name)
            if declared is None and path not in CREDENTIAL_PATHS:
                self.problem(path, node, f"variable {name} is not declared: list it under the top-level env: "
                                         "to let it expand here (only target.access_key, target.secret_key and "
                                         "target.proxy read undeclared variables)")
                return ""
            if declared is not None and declared.secret and not (path and (path[-1] in SECRET_FIELDS or path in SECRET_PATHS)):
                self.problem(path, node, f"{name} is declared secret: it may only fill access_key, secret_key, "
                                         "anti_leech_key, proxy or notify.url (fields that are never printed); "
                                         f"{_field_name(path)} would show it in plans, reports and the state file")
                return ""
            if name in self.env:
                value = self.env[name]
            elif sep:
                value = default
            elif declared is not None and declared.default is not None:
                value = declared.default
            else:
                self.problem(path, node, f"environment variable {name} is not set "
                                         "(use ${" + name + ":-default} for a default, or '$${' for a literal '${')")
                return ""
            if declared is not None and declared.secret and value:
                self.out.secrets.append(value)
            return value

        return _ENV_RE.sub(replace, text)


def _field_name(path: PathKey) -> str:
    """The field a value belongs to, for messages: ``prefix``, ``keys[0]``."""
    if len(path) >= 2 and isinstance(path[-1], int):
        return f"{path[-2]}[{path[-1]}]"
    return str(path[-1]) if path else "this value"


def _scalar_text(node: Node) -> str | None:
    return str(node.value) if isinstance(node, ScalarNode) else None


def declarations(root: Node | None) -> dict[str, Declared]:
    """The variables the top-level ``env:`` list declares, read leniently before any expansion.

    Malformed entries are skipped here: the ``Manifest`` model validates ``env:`` and reports
    them with their locations. The first declaration of a name wins (a repeat is reported).
    """
    found: dict[str, Declared] = {}
    if not isinstance(root, MappingNode):
        return found
    for key_node, value_node in root.value:
        if _scalar_text(key_node) != "env" or not isinstance(value_node, SequenceNode):
            continue
        for item in value_node.value:
            name: str | None = None
            secret, default = False, None
            if isinstance(item, ScalarNode):
                name = _scalar_text(item)
            elif isinstance(item, MappingNode):
                fields = {_scalar_text(k): v for k, v in item.value}
                name = _scalar_text(fields["name"]) if "name" in fields else None
                flag = fields.get("secret")
                secret = isinstance(flag, ScalarNode) and flag.tag == _YAML + "bool" \
                    and str(flag.value).lower() in ("true", "yes", "on", "y")
                default = _scalar_text(fields["default"]) if "default" in fields else None
            if name and _ENV_NAME_RE.match(name) and name not in found:
                found[name] = Declared(secret=secret, default=default)
    return found


def parse(text: str, env: Mapping[str, str]) -> Parsed:
    """Compose and convert ``text``; raise :class:`YamlFatal` when nothing usable can be read."""
    node = compose(text)
    converter = _Converter(env, declarations(node))
    if node is None:
        return converter.out
    converter.out.positions[()] = (node.start_mark.line + 1, node.start_mark.column + 1)
    try:
        converter.out.data = converter.convert(node, (), 0)
    except RecursionError:
        raise YamlFatal(1, 1, f"nested too deeply (the limit is {MAX_DEPTH} levels)") from None
    return converter.out
