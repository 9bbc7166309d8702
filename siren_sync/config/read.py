"""From a file to plain data: its text, YAML or JSON, and the `${VAR}` secrets put in.

Kept apart from the sections' checks because it answers another question ("why does my file not
parse?"): a YAML duplicate key is refused (PyYAML silently keeps the last one), a `${VAR}` written
inside a `{flow mapping}` or `[flow list]` gets the fix instead of PyYAML's puzzle, and every
failure is the same one line, `<file>: line <n>: <problem>`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import yaml

from siren_sync.config.fast_yaml import split_collaborators
from siren_sync.config.validate import At, show
from siren_sync.errors import ConfigError

# libyaml's parser when PyYAML was built with it (it is, in its wheels): the same documents and the
# same errors as the pure-Python one, about ten times faster (a 50,000-collaborator config).
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[valid-type, misc]
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    raise yaml.MarkedYAMLError(problem=f"duplicate key {show(key)}",
                                               problem_mark=key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


def read_text(at: At | None, path: Path, where: str) -> str:
    """The file's text; `at` is where a referenced file is named (None for the config itself)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if at is None:
            raise ConfigError(f"{where}: file not found") from None
        at.fail(f"file not found: {path}")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read: {exc.__class__.__name__}: {exc}") from None


def parse_yaml(text: str, where: str) -> Any:
    """The YAML document in `text`; a syntax error names the file and the line."""
    return _parse(text, where)


def parse_config(text: str, where: str, at: At, env: Mapping[str, str]) -> Any:
    """The config file's YAML document with its `${VAR}`s put in (see `interpolate`).

    A long `collaborators:` list written one `- {...}` a line, without a `${`, is read apart
    (`fast_yaml`), as YAML reads it, and has nothing to put in; the rest is YAML's as always.
    """
    fast = split_collaborators(text)
    if fast is not None:
        data = _parse(fast[0], where)
        if isinstance(data, dict) and data.get("collaborators", False) is None:
            filled = interpolate(at, data, env)  # its collaborators are None here: nothing to walk
            return {key: fast[1] if key == "collaborators" else value for key, value in filled.items()}
    data = _parse(text, where)
    return None if data is None else interpolate(at, data, env)


def _parse(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}" if mark else "YAML"
        problem = _unquoted_reference(text, exc) or " ".join(str(exc.problem or exc.context or "syntax error").split())
        raise ConfigError(f"{where}: {line}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: YAML syntax error: {' '.join(str(exc).split())}") from None


def _unquoted_reference(text: str, exc: yaml.MarkedYAMLError) -> str | None:
    """What is wrong when a `${VAR}` inside `{...}` or `[...]` broke the parse, else None.

    In flow style `{` starts a mapping, so `{user: ${WP_USER}}` reads as the value `$` followed by a
    second mapping, and PyYAML says "expected ',' or '}', but got '{'": true, but no help.
    """
    mark, context = exc.problem_mark, str(exc.context or "")
    lines = text.splitlines()
    if mark is None or "flow" not in context or not 0 < mark.column or mark.line >= len(lines):
        return None
    found = re.match(r"\$\{[^}\n]{0,60}\}|\$\{", lines[mark.line][mark.column - 1:])
    if found is None:
        return None
    style = "{...} flow mapping" if "mapping" in context else "[...] flow list"
    return (f"{found.group(0)} inside a {style} must be quoted: write \"{found.group(0)}\", "
            f"or use block style (one key per line)")


def parse_json(text: str, where: str) -> Any:
    """The JSON document in `text`; a syntax error names the file and the line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: line {exc.lineno}: invalid JSON: {exc.msg}") from None


_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")


class _Unset(Exception):
    """A `${VAR}` that cannot be put in: `interpolate` walks again to say where."""


def interpolate(at: At, value: Any, env: Mapping[str, str]) -> Any:
    """`${VAR}` (or `${VAR:-default}`) in every string value, from `env`; `$${` is a literal `${`.

    The first walk keeps no position (a config of 50,000 collaborators has a million values and
    most hold no reference); only a reference that fails is looked for again, to name its key.
    """
    try:
        return _put_in(value, lambda match: _expand(None, match, env))
    except _Unset:
        return _put_in_at(at, value, env)


def _put_in(value: Any, expand: Callable[[re.Match[str]], str]) -> Any:
    kind = type(value)  # exact types: YAML and JSON give no subclasses, and this is a million calls
    if kind is str:
        return _REFERENCE.sub(expand, value) if "${" in value else value
    if kind is dict:
        return {k: _put_in(v, expand) for k, v in value.items()}
    if kind is list:
        return [_put_in(v, expand) for v in value]
    return value


def _put_in_at(at: At, value: Any, env: Mapping[str, str]) -> Any:
    """`interpolate` again, keeping each value's position, to fail where the reference is."""
    if isinstance(value, dict):
        return {k: _put_in_at(at / k, v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_put_in_at(at[i], v, env) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        return _REFERENCE.sub(lambda m: _expand(at, m, env), value)
    return value


def _expand(at: At | None, match: re.Match[str], env: Mapping[str, str]) -> str:
    """One reference's value; without `at` a failure is `_Unset` (the caller walks again with it)."""
    if match.group(0) == "$${":
        return "${"
    body = match.group(1)
    parsed = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", body or "", re.S)
    if body is None or not parsed:
        _unset(at, f"bad environment reference {show(match.group(0))}: write ${{NAME}} (or $${{ for a literal ${{)")
    name, default = parsed.groups()
    if name in env:
        return env[name]
    if default is not None:
        return default
    _unset(at, f"environment variable {name} is not set")


def _unset(at: At | None, problem: str) -> NoReturn:
    if at is None:
        raise _Unset(problem)
    at.fail(problem)
