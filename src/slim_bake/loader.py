"""Read YAML while remembering where every value came from, so that errors can name
file:line:column. Duplicate keys are errors (PyYAML would silently keep the last).

Input is bounded, because slim.yaml and reports come from anyone who can open a pull
request: a file is read only if it is a regular file, and at most `limit` bytes of it;
YAML may nest MAX_DEPTH deep and expand (aliases included) to MAX_NODES values; only
the plain JSON-like tags are read. Anything else is a located ConfigError (exit 2)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from slim_bake.errors import ConfigError, Diagnostic

CONFIG_LIMIT = 1 << 20  # bytes of slim.yaml (a large one is a few kB)
MAX_DEPTH = 32  # nesting of mappings and lists (slim.yaml needs 6)
MAX_NODES = 20_000  # values, aliases expanded (a large slim.yaml has 2,000): bombs stop here
TAGS = {  # the tags a plain (JSON-like) YAML file resolves to; the rest are refused
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
}
_KINDS = {  # what os.open/fstat found instead of a regular file
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}

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


def read_limited(path: Path, name: str, limit: int) -> bytes:
    """The bytes of the regular file at `path`, refused (ConfigError naming `name`)
    when it is missing, not a regular file (a FIFO is never waited on), or larger than
    `limit`; at most limit + 1 bytes are ever read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _unreadable(name, _reason(exc)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise _unreadable(name, f"{kind}, not a file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _unreadable(name, _reason(exc)) from None
    finally:
        os.close(fd)
    if size > limit:
        raise _unreadable(name, f"larger than {limit // 1024} KiB: not read")
    return b"".join(chunks)


def decode_utf8(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        problem = f"not UTF-8 text (byte 0x{data[exc.start]:02x})"
        raise ConfigError([Diagnostic(name, line, column, "", problem)]) from None


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "file not found"
    if exc.errno == errno.ELOOP:
        return "a loop of symbolic links"
    if exc.errno == errno.ENXIO:
        return "a socket or a device, not a file"
    return f"cannot read: {exc.strerror or exc}"


def _unreadable(name: str, problem: str) -> ConfigError:
    return ConfigError([Diagnostic(name, 0, 0, "", problem)])


def load_yaml(path: Path, display: str | None = None, limit: int = CONFIG_LIMIT) -> Document:
    name = display or str(path)
    return parse_yaml(decode_utf8(read_limited(path, name, limit), name), name)


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses nesting deeper than MAX_DEPTH and more than MAX_NODES
    nodes while composing: PyYAML's composer recurses once per level."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        self.nodes += 1
        if self.depth > MAX_DEPTH or self.nodes > MAX_NODES:
            problem = (
                f"nested more than {MAX_DEPTH} levels deep"
                if self.depth > MAX_DEPTH
                else f"more than {MAX_NODES} values"
            )
            raise yaml.MarkedYAMLError(
                problem=problem,
                problem_mark=self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    # PyYAML's scanner keeps a possible simple key per flow level and checks all of them
    # for every token: on a line of `[[[[…` that is quadratic, near a second before the
    # composer reaches MAX_DEPTH. The keys are kept in the order they were found, so by
    # position: the first is the nearest, and the stale ones come first.
    def next_possible_simple_key(self) -> int | None:
        for key in self.possible_simple_keys.values():
            return int(key.token_number)
        return None

    def stale_possible_simple_keys(self) -> None:
        keys = self.possible_simple_keys
        while keys:
            level, key = next(iter(keys.items()))
            if key.line == self.line and self.index - key.index <= 1024:
                return  # and so are the keys found after it
            if key.required:
                raise yaml.scanner.ScannerError(
                    "while scanning a simple key",
                    key.mark,
                    "could not find expected ':'",
                    self.get_mark(),
                )
            del keys[level]


def parse_yaml(text: str, name: str) -> Document:
    return _parse(_Loader, text, name, MAX_NODES)


def locate_json(text: str, name: str) -> Document:
    """Positions of the values of a JSON text that json.loads has read and whose depth
    was checked (libyaml's composer recurses in C, unguarded): in C when PyYAML has
    it, as a report's errors would otherwise take seconds to place."""
    # JSON has no aliases: a value takes at least a byte of the text.
    return _parse(getattr(yaml, "CSafeLoader", _Loader), text, name, len(text) + 1)


def _parse(
    factory: Callable[[str], yaml.SafeLoader], text: str, name: str, values: int
) -> Document:
    loader: yaml.SafeLoader | None = None
    try:
        loader = factory(text)  # checks every character: a NUL is a ReaderError here
        node = loader.get_single_node()
        doc = Document(name, None)
        if node is not None:
            doc.data = _walk(loader, node, (), doc, _Budget(values))
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([Diagnostic(name, line, col, "", f"invalid YAML: {problem}")]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        problem = (
            f"character U+{exc.character:04X} is not allowed in YAML"
            if isinstance(exc.character, int)
            else str(exc.reason)
        )
        raise ConfigError(
            [Diagnostic(name, line, column, "", f"invalid YAML: {problem}")]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Diagnostic(name, 0, 0, "", f"invalid YAML: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()


@dataclass
class _Budget:
    """Values left to visit: aliases are expanded as they are walked, so a few hundred
    bytes could otherwise stand for billions of values."""

    left: int = MAX_NODES

    def spend(self, node: yaml.Node, doc: Document) -> None:
        self.left -= 1
        if self.left < 0:
            raise _located(
                node,
                doc,
                f"more than {MAX_NODES} values once aliases are expanded (an alias bomb?)",
            )


def _walk(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: PathKey,
    doc: Document,
    budget: _Budget,
    parents: frozenset[int] = frozenset(),
) -> Any:
    if id(node) in parents:  # an alias to one of its own ancestors: `x: &a [*a]`
        raise _located(node, doc, "a YAML alias refers to itself (recursive structure)")
    budget.spend(node, doc)
    if node.tag not in TAGS:
        raise _located(node, doc, f"the tag {_tag(node.tag)} is not supported here")
    parents = parents | {id(node)}
    doc.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves `<<:` merge keys like safe_load does
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(loader, key_node, doc) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                shown = repr(key) if key is not None else "a mapping or a list"
                raise _located(key_node, doc, f"a key must be a string, not {shown} (quote it)")
            if key in result:
                raise _located(key_node, doc, f"duplicate key {key!r}")
            mark = key_node.start_mark
            doc.key_marks[(*path, key)] = (mark.line + 1, mark.column + 1)
            result[key] = _walk(loader, value_node, (*path, key), doc, budget, parents)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _walk(loader, item, (*path, i), doc, budget, parents)
            for i, item in enumerate(node.value)
        ]
    return _scalar(loader, node, doc)


def _scalar(loader: yaml.SafeLoader, node: yaml.Node, doc: Document) -> Any:
    """A scalar's value; one its tag cannot read (`!!int abc`, an integer of more
    digits than Python converts, `!!timestamp 2026-02-30`, `!!bool maybe`) is a located
    error."""
    if node.tag not in TAGS or not isinstance(node, yaml.ScalarNode):
        raise _located(node, doc, f"the tag {_tag(node.tag)} is not supported here")
    try:
        value = loader.construct_object(node, deep=True)
        if isinstance(value, int):
            str(value)  # 0x… has no digit limit, but past 4,300 digits it cannot be printed
        return value
    except (ValueError, ArithmeticError, AttributeError, TypeError, LookupError) as exc:
        value = node.value if len(node.value) <= 40 else node.value[:39] + "…"
        # int()'s own words say why a number is refused (too many digits); the others'
        # (a regex that did not match) would say nothing to the user.
        why = f" ({str(exc).split(';')[0][:80]})" if type(exc) is ValueError else ""
        raise _located(node, doc, f"{value!r} is not a valid {_tag(node.tag)}{why}") from None


def _tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _located(node: yaml.Node, doc: Document, message: str) -> ConfigError:
    mark = node.start_mark
    return ConfigError([Diagnostic(doc.file, mark.line + 1, mark.column + 1, "", message)])
