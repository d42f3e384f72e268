"""YAML with locations: plain Python values plus a map from value path to (line, column).

Duplicate mapping keys are errors (PyYAML silently keeps the last one). Every error is an
``InputError`` naming file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from segverify.errors import InputError

Path = tuple[Any, ...]


@dataclass(frozen=True)
class Located:
    """A document and where each of its values (by path) starts."""

    data: Any
    marks: dict[Path, tuple[int, int]]
    file: str

    def where(self, path: Path) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the value at ``path`` or its nearest parent."""
        p = tuple(path)
        while True:
            if p in self.marks:
                return self.marks[p]
            if not p:
                return None, None
            p = p[:-1]

    def error(self, path: Path, message: str) -> InputError:
        line, col = self.where(path)
        prefix = format_path(path)
        text = f"{prefix}: {message}" if prefix else message
        return InputError(text, self.file, line, col)


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_located(text: str, file: str) -> Located:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        marks: dict[Path, tuple[int, int]] = {}
        data = _construct(loader, root, (), marks, file) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise InputError(f"invalid YAML: {problem}", file, line, col) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file) from None
    finally:
        loader.dispose()
    return Located(data, marks, file)


def _construct(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: Path,
    marks: dict[Path, tuple[int, int]],
    file: str,
) -> Any:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        key_lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise InputError(
                    f"{format_path(path) or 'document'}: mapping key must be a scalar",
                    file,
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
            if key in out:
                where = format_path((*path, key))
                first = key_lines[key]
                raise InputError(
                    f"{where}: duplicate key {key!r} (first defined on line {first})",
                    file,
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
            key_lines[key] = key_node.start_mark.line + 1
            out[key] = _construct(loader, value_node, (*path, key), marks, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, item, (*path, i), marks, file) for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)
