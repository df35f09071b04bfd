"""YAML read for validation: variables interpolated, every value's line kept.

Configuration errors must name the line an operator has to fix, so the
YAML is composed into nodes (which know their lines) rather than loaded
straight into Python values, and pydantic's error locations are mapped
back to those lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class YamlReader:
    """Turns YAML into plain data, interpolating variables and keeping lines."""

    def __init__(self, path: Path, env: Mapping[str, str]) -> None:
        self.path = path
        self.env = env
        self.problems: list[str] = []
        self.lines: dict[tuple[str | int, ...], int] = {}

    def read(self, text: str) -> Any:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            problem = getattr(exc, "problem", None) or "invalid YAML"
            self.problems.append(f"{self.path}:{line}: Invalid YAML: {problem}.")
            return None
        if node is None:
            return {}
        return self._convert(node, ())

    def _convert(self, node: yaml.Node, where: tuple[str | int, ...]) -> Any:
        self.lines[where] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, where)
        if isinstance(node, yaml.SequenceNode):
            return [self._convert(n, (*where, i)) for i, n in enumerate(node.value)]
        value = yaml.SafeLoader("").construct_object(node)
        if isinstance(value, str):
            return self._interpolate(value, node.start_mark.line + 1)
        return value

    def _mapping(self, node: yaml.MappingNode, where: tuple[str | int, ...]) -> Any:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in result:
                self.problems.append(f"{self.path}:{line}: Duplicate key {key!r}.")
            result[key] = self._convert(value_node, (*where, key))
            self.lines[(*where, key)] = line
        return result

    def _interpolate(self, value: str, line: int) -> str:
        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = self.env.get(name)
            # As in a shell: ":-" also stands in for a variable set but empty.
            if value:
                return value
            if default is not None:
                return default
            if value is not None:
                return value
            self.problems.append(
                f"{self.path}:{line}: Environment variable {name} is not set "
                "and has no default."
            )
            return match.group(0)

        return _VAR.sub(replace, value)

    def explain(self, exc: ValidationError, data: Any) -> list[str]:
        """One ``file:line: message`` per validation problem."""
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(p for p in error["loc"] if not _is_union_tag(p))
            loc = _locate_duplicate(loc, error["msg"], data)
            line = self._line_of(loc)
            field = ".".join(str(p) for p in loc) or "(top level)"
            message = _sentence(error["msg"])
            if error["type"] == "extra_forbidden":
                message = "Unknown key."
            problems.append(f"{self.path}:{line}: {field}: {message}")
        return problems

    def _line_of(self, loc: tuple[str | int, ...]) -> int:
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return 1


_DUPLICATE = re.compile(r"Duplicate (\w+) '(.*)'")


def _locate_duplicate(
    loc: tuple[str | int, ...], msg: str, data: Any
) -> tuple[str | int, ...]:
    """Point a duplicate-name error at the second item that carries the name."""
    match = _DUPLICATE.search(msg)
    if match is None:
        return loc
    items: Any = data
    for part in loc:
        try:
            items = items[part]
        except (KeyError, IndexError, TypeError):
            return loc
    key, value = match.groups()
    seen = 0
    for index, item in enumerate(items if isinstance(items, list) else ()):
        if isinstance(item, dict) and str(item.get(key)) == value:
            seen += 1
            if seen == 2:
                return (*loc, index, key)
    return loc


def _is_union_tag(part: str | int) -> bool:
    return isinstance(part, str) and (
        part in ("function-after[_check_base_url(), str]", "str", "none")
        or part.startswith("function-")
    )


def _sentence(message: str) -> str:
    message = message.removeprefix("Value error, ")
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."
