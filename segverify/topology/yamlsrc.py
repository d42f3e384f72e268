"""YAML with locations: plain Python values plus a map from value path to (line, column).

Duplicate mapping keys are errors (PyYAML silently keeps the last one). Every error is an
``InputError`` naming file, line and column. Hostile documents are refused with one line,
in time and memory linear in the file: characters YAML forbids (NUL, ESC, DEL…), nesting
deeper than ``limits.YAML_MAX_DEPTH``, and aliases that expand to more than
``limits.YAML_MAX_ALIAS_VALUES`` values (the "billion laughs").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from segverify.errors import InputError
from segverify.i18n import Msg
from segverify.limits import YAML_MAX_ALIAS_VALUES, YAML_MAX_DEPTH, YAML_MAX_VALUES

Path = tuple[Any, ...]

# libyaml (C) when present: ~10x faster on long lines and big files; same nodes and marks.
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# libyaml's (and PyYAML's) parser problems, in the user's language (data/messages.yaml
# yaml.problem.*); a problem not listed here is shown as the parser words it
_YAML_PROBLEMS = {
    "did not find expected ',' or ']'": "yaml.problem.flow_sequence",
    "did not find expected ',' or '}'": "yaml.problem.flow_mapping",
    "did not find expected key": "yaml.problem.expected_key",
    "did not find expected node content": "yaml.problem.node_content",
    "did not find expected '-' indicator": "yaml.problem.sequence_indicator",
    "did not find expected <document start>": "yaml.problem.document_start",
    "mapping values are not allowed in this context": "yaml.problem.mapping_values",
    "mapping values are not allowed here": "yaml.problem.mapping_values",
    "block sequence entries are not allowed in this context": "yaml.problem.sequence_entries",
    "sequence entries are not allowed here": "yaml.problem.sequence_entries",
    "found character that cannot start any token": "yaml.problem.bad_character",
    "found undefined alias": "yaml.problem.undefined_alias",
    "found unexpected end of stream": "yaml.problem.end_of_stream",
    "found a tab character that violates indentation": "yaml.problem.tab",
    "found unknown escape character": "yaml.problem.escape",
    "could not find expected ':'": "yaml.problem.colon",
    "found unexpected document indicator": "yaml.problem.document_indicator",
    "but found another document": "yaml.problem.single_document",
    "expected a single document in the stream": "yaml.problem.single_document",
}


def _yaml_problem(problem: str) -> str:
    """The parser's problem text, as a catalogue message when it is a known one."""
    key = _YAML_PROBLEMS.get(problem.split(" (", 1)[0].strip())
    return Msg(key) if key else problem


# YAML 1.1/1.2 printable set (c-printable): anything else is refused by the reader.
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)

_CONTROL_NAMES = {0: "NUL", 0x1B: "ESC", 0x7F: "DEL", 0x08: "BS", 0x0C: "FF", 0x0B: "VT"}


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
        text = Msg("error.at_path", path=prefix, message=message) if prefix else message
        return InputError(text, self.file, line, col)


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def check_printable(text: str, file: str) -> None:
    """Refuse characters YAML does not allow, naming their line and column."""
    bad = _NOT_PRINTABLE.search(text)
    if bad is None:
        return
    code = ord(bad.group())
    name = _CONTROL_NAMES.get(code, "control character" if code < 0xA0 else "non-character")
    line = text.count("\n", 0, bad.start()) + 1
    col = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
    raise InputError(
        f"invalid YAML: character U+{code:04X} ({name}) is not allowed in YAML text",
        file,
        line,
        col,
        key="error.yaml_character",
        params={"code": f"U+{code:04X}", "name": name},
    )


def load_located(text: str, file: str) -> Located:
    check_printable(text, file)
    loader = _Loader(text)
    try:
        _count_values(text, file)
        root = loader.get_single_node()
        marks: dict[Path, tuple[int, int]] = {}
        data = _Constructor(loader, marks, file).build(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise InputError(
            Msg("error.topology.yamlsrc.invalid_yaml", problem=_yaml_problem(problem)),
            file,
            line,
            col,
        ) from None
    except yaml.reader.ReaderError as exc:  # check_printable catches these first
        raise InputError(
            Msg("error.topology.yamlsrc.invalid_yaml", problem=exc.reason), file
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(
            Msg("error.topology.yamlsrc.invalid_yaml", problem=_one_line(str(exc))), file
        ) from None
    except RecursionError:  # a safety net: the depth bound below stops nesting far earlier
        raise InputError(
            Msg("error.topology.yamlsrc.invalid_yaml_nested_too_deeply", limit=YAML_MAX_DEPTH), file
        ) from None
    finally:
        loader.dispose()
    return Located(data, marks, file)


_VALUE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)


def _count_values(text: str, file: str) -> None:
    """Refuse a document of more than ``YAML_MAX_VALUES`` values before building it: the
    parse events stream in constant memory, the node tree costs ~700 bytes a value."""
    parser = _Loader(text)
    try:
        count = 0
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, _VALUE_EVENTS):
                count += 1
                if count > YAML_MAX_VALUES:
                    mark = event.start_mark
                    raise InputError(
                        f"invalid YAML: more than {YAML_MAX_VALUES} values in one document",
                        file,
                        mark.line + 1,
                        mark.column + 1,
                        key="error.yaml_values",
                        params={"limit": YAML_MAX_VALUES},
                    )
    finally:
        parser.dispose()


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass
class _Constructor:
    """Node tree → Python values, recording marks; bounds depth and alias expansion."""

    loader: Any
    marks: dict[Path, tuple[int, int]]
    file: str
    seen: set[int] = field(default_factory=set)
    alias_values: int = 0

    def build(self, root: yaml.Node) -> Any:
        return self._construct(root, (), None)

    def _refuse(self, node: yaml.Node, message: str, key: str, limit: int) -> InputError:
        return InputError(
            f"invalid YAML: {message}",
            self.file,
            node.start_mark.line + 1,
            node.start_mark.column + 1,
            key=key,
            params={"limit": limit},
        )

    def _construct(
        self,
        node: yaml.Node,
        path: Path,
        alias_site: yaml.Node | None,
        parent: yaml.Node | None = None,
    ) -> Any:
        """``alias_site``: the collection holding the alias this value was copied through."""
        if len(path) > YAML_MAX_DEPTH:
            raise self._refuse(
                node,
                f"nested deeper than {YAML_MAX_DEPTH} levels",
                "error.yaml_depth",
                YAML_MAX_DEPTH,
            )
        # The composer hands back the anchored node itself for every alias: a node met twice
        # is an alias use, and everything under it is a copy.
        if alias_site is None and id(node) in self.seen and isinstance(node, yaml.CollectionNode):
            alias_site = parent or node
        self.seen.add(id(node))
        if alias_site is not None:
            self.alias_values += 1
            if self.alias_values > YAML_MAX_ALIAS_VALUES:
                raise self._refuse(
                    alias_site,
                    f"aliases expand to more than {YAML_MAX_ALIAS_VALUES} values (write the values out)",
                    "error.yaml_aliases",
                    YAML_MAX_ALIAS_VALUES,
                )
        self.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            out: dict[Any, Any] = {}
            key_lines: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = (
                    self.loader.construct_object(key_node, deep=True)
                    if isinstance(key_node, yaml.ScalarNode)
                    else None
                )
                if isinstance(key, (int, float)):  # ints, floats and bools: identifiers are
                    key = str(key_node.value)  # what was written (`1:` → "1", `on:` → "on")
                if not isinstance(key, str):
                    raise InputError(
                        Msg(
                            "error.topology.yamlsrc.mapping_key_must_scalar",
                            where=format_path(path) or "document",
                        ),
                        self.file,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                    )
                if key in out:
                    where = format_path((*path, key))
                    first = key_lines[key]
                    raise InputError(
                        Msg(
                            "error.topology.yamlsrc.duplicate_key_first_defined_line",
                            where=where,
                            name=key,
                            first=first,
                        ),
                        self.file,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                    )
                key_lines[key] = key_node.start_mark.line + 1
                out[key] = self._construct(value_node, (*path, key), alias_site, node)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [
                self._construct(item, (*path, i), alias_site, node)
                for i, item in enumerate(node.value)
            ]
        return self.loader.construct_object(node, deep=True)
