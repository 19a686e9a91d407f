"""Load YAML while remembering where each value came from, so errors can name file, line and field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import UserError


@dataclass(frozen=True)
class Source:
    """A loaded YAML document and the line of every mapping key in it (by dotted path)."""

    path: Path
    data: Any
    lines: dict[str, int]

    def where(self, field: str) -> str:
        """`file:line: field` for a dotted path, falling back to the closest known parent."""
        probe = field
        while probe and probe not in self.lines:
            probe = probe.rpartition(".")[0]
        line = self.lines.get(probe)
        name = self.path.name if not self.path.is_absolute() else _relative(self.path)
        return f"{name}:{line}: {field}" if line else f"{name}: {field}"

    def fail(self, field: str, message: str) -> UserError:
        return UserError(f"{self.where(field)}: {message}")


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _index(node: yaml.Node, prefix: str, lines: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = f"{prefix}.{key.value}" if prefix else str(key.value)
            lines[name] = key.start_mark.line + 1
            _index(value, name, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            name = f"{prefix}[{i}]"
            lines[name] = item.start_mark.line + 1
            _index(item, name, lines)


def load(path: Path) -> Source:
    """Parse a YAML file; a syntax error becomes a UserError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise UserError(f"{path}: cannot read: {err.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise UserError(f"{path}{line}: invalid YAML: {getattr(err, 'problem', err)}") from None
    lines: dict[str, int] = {}
    if node is not None:
        _index(node, "", lines)
    return Source(path, data, lines)
