"""Read YAML while remembering where every value came from, so that errors can name
file:line:column. Duplicate keys are errors (PyYAML would silently keep the last)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from slim_bake.errors import ConfigError, Diagnostic

PathKey = tuple[str | int, ...]


@dataclass
class Document:
    """Parsed YAML plus a map from each value's path to its 1-based (line, column)."""

    file: str
    data: Any
    marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: PathKey) -> tuple[int, int]:
        """Position of `path`, or of its closest located ancestor."""
        while path not in self.marks and path:
            path = path[:-1]
        return self.marks.get(path, (0, 0))

    def diagnostic(self, path: PathKey, message: str, at_key: bool = False) -> Diagnostic:
        """A problem at `path`'s value, or at its key (for unknown or misplaced keys)."""
        line, column = (
            self.key_marks[path] if at_key and path in self.key_marks else self.where(path)
        )
        return Diagnostic(self.file, line, column, format_path(path), message)


def format_path(path: PathKey) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def load_yaml(path: Path, display: str | None = None) -> Document:
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Diagnostic(name, 0, 0, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Diagnostic(name, 0, 0, "", f"cannot read: {exc}")]) from None
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> Document:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        doc = Document(name, None)
        if node is not None:
            doc.data = _walk(loader, node, (), doc)
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([Diagnostic(name, line, col, "", f"invalid YAML: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Diagnostic(name, 0, 0, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()


def _walk(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: PathKey,
    doc: Document,
    parents: frozenset[int] = frozenset(),
) -> Any:
    if id(node) in parents:  # an alias to one of its own ancestors: `x: &a [*a]`
        raise _located(node, doc, "a YAML alias refers to itself (recursive structure)")
    parents = parents | {id(node)}
    doc.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves `<<:` merge keys like safe_load does
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise _located(key_node, doc, f"a key must be a string, not {key!r} (quote it)")
            if key in result:
                raise _located(key_node, doc, f"duplicate key {key!r}")
            mark = key_node.start_mark
            doc.key_marks[(*path, key)] = (mark.line + 1, mark.column + 1)
            result[key] = _walk(loader, value_node, (*path, key), doc, parents)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(loader, item, (*path, i), doc, parents) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _located(node: yaml.Node, doc: Document, message: str) -> ConfigError:
    mark = node.start_mark
    return ConfigError([Diagnostic(doc.file, mark.line + 1, mark.column + 1, "", message)])
