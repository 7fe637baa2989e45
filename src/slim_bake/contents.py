"""What an image holds, as a container sees it, and the `assert:` checks judged on it.

The final filesystem is every layer's entries (measure.Entry, base layers included)
stacked in order, as overlayfs stacks them: a `.wh.NAME` whiteout hides NAME (and all
below it) of the layers beneath, a `.wh..wh..opq` marker hides everything the layers
beneath put in its directory, and an entry that is not a directory hides a lower
directory's whole subtree. A hard link is a name of its own: it survives its target's
removal, and carries the target's size and content flags.

Paths in `present:`/`absent:` are absolute; the directories before the first glob
character are followed through the image's symlinks (/bin → usr/bin), so `/bin/sh`
is found on a merged-/usr image. Patterns match with fnmatch's rules, whose `*`
also matches `/`."""

from __future__ import annotations

import fnmatch
import posixpath
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from slim_bake.config import Assertions
from slim_bake.measure import Entry, Measurement

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
_GLOB = set("*?[")
_MAX_HOPS = 40  # symlinks followed in one lookup, as Linux's MAXSYMLINKS
_SHOWN = 10  # paths named per check; the rest are counted
_KEY_NAMES = ("*.key", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")
_SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"}
_TMP = "/tmp"


@dataclass(frozen=True)
class Node:
    entry: Entry
    layer: int  # index into the image's layers


Tree = dict[str, Node]


def final_tree(layers: Sequence[Sequence[Entry]]) -> Tree:
    """path → what the container sees there, from every layer's entries in order."""
    tree: Tree = {}
    children: defaultdict[str, set[str]] = defaultdict(set)
    for index, entries in enumerate(layers):
        # A layer's whiteouts hide the layers beneath it, never its own entries.
        for entry in entries:
            parent, name = posixpath.split(entry.path)
            if name == OPAQUE:
                for child in list(children.get(parent, ())):
                    _remove(tree, children, child)
            elif name.startswith(WHITEOUT):
                _remove(tree, children, posixpath.join(parent, name[len(WHITEOUT) :]))
        for entry in entries:
            if not posixpath.basename(entry.path).startswith(WHITEOUT):
                _add(tree, children, _linked(tree, entry), index)
    return tree


def _linked(tree: Tree, entry: Entry) -> Entry:
    target = tree.get(entry.link) if entry.kind == "hardlink" else None
    if target is None:
        return entry
    return replace(entry, size=target.entry.size, key=target.entry.key)


def _add(tree: Tree, children: defaultdict[str, set[str]], entry: Entry, layer: int) -> None:
    old = tree.get(entry.path)
    if old is not None and not (old.entry.kind == "dir" and entry.kind == "dir"):
        _remove(tree, children, entry.path)  # a file over a directory hides its subtree
    tree[entry.path] = Node(entry, layer)
    if entry.path != "/":
        children[posixpath.dirname(entry.path)].add(entry.path)


def _remove(tree: Tree, children: defaultdict[str, set[str]], path: str) -> None:
    tree.pop(path, None)
    children.get(posixpath.dirname(path), set()).discard(path)
    for child in children.pop(path, set()):
        _remove(tree, children, child)


# --- Finding paths -------------------------------------------------------------------------


def resolve_dir(tree: Tree, path: str) -> str:
    """`path` with every directory in it followed through the image's symlinks."""
    parts = [p for p in path.split("/") if p]
    done = "/"
    hops = 0
    while parts:
        part = parts.pop(0)
        if part in (".", ".."):
            done = posixpath.dirname(done) if part == ".." else done
            continue
        candidate = posixpath.join(done, part)
        node = tree.get(candidate)
        if node is not None and node.entry.kind == "symlink" and hops < _MAX_HOPS:
            hops += 1
            target = node.entry.link
            done = "/" if target.startswith("/") else done
            parts = [p for p in target.split("/") if p] + parts
            continue
        done = candidate
    return done


def matches(tree: Tree, pattern: str) -> list[tuple[str, str]]:
    """(as shown, path in the tree) of every entry `pattern` names."""
    pattern = posixpath.normpath("/" + pattern.lstrip("/"))
    parts = pattern.split("/")[1:]
    glob_at = next((i for i, p in enumerate(parts) if _GLOB & set(p)), len(parts))
    literal = min(glob_at, len(parts) - 1)
    head = resolve_dir(tree, "/" + "/".join(parts[:literal]))
    real = posixpath.join(head, *parts[literal:])
    if glob_at == len(parts):
        return [(pattern, real)] if real in tree else []
    return [(path, path) for path in sorted(tree) if fnmatch.fnmatchcase(path, real)]


# --- The checks ------------------------------------------------------------------------------


def judge_assertions(
    asserts: Assertions, measurement: Measurement
) -> list[tuple[str, tuple[str, ...]]]:
    """(check name, its failures) for every check `asserts` asks for; no failures: held."""
    results: list[tuple[str, tuple[str, ...]]] = []
    tree: Tree | None = None
    if asserts.needs_contents:
        if not measurement.entries:  # fail closed: nothing unread passes
            return [("assert.contents", ("the image's contents were not read",))]
        tree = final_tree(measurement.entries)
    from_base = tuple(layer.from_base for layer in measurement.layers)
    config = measurement.image_config or {}
    for name, run in _CHECKS:
        found = run(asserts, tree or {}, from_base, config)
        if found is not None:
            results.append((f"assert.{name}", tuple(_capped(found))))
    return results


def _capped(found: list[str]) -> Iterator[str]:
    yield from found[:_SHOWN]
    if len(found) > _SHOWN:
        yield f"and {len(found) - _SHOWN} more"


def _where(node: Node, from_base: tuple[bool, ...]) -> str:
    base = node.layer < len(from_base) and from_base[node.layer]
    return f"(layer {node.layer + 1}{', from the base image' if base else ''})"


def _shown(pattern: str, path: str) -> str:
    return pattern if pattern == path else f"{pattern} (→ {path})"


# (asserts, tree, each layer's from_base, image config) → failures; None: not asked for
Check = Callable[[Assertions, Tree, tuple[bool, ...], Any], list[str] | None]


def _present(a: Assertions, tree: Tree, base: tuple[bool, ...], c: Any) -> list[str] | None:
    if not a.present:
        return None
    return [f"{p} is missing" for p in a.present if not matches(tree, p)]


def _absent(a: Assertions, tree: Tree, base: tuple[bool, ...], c: Any) -> list[str] | None:
    if not a.absent:
        return None
    return [
        f"{_shown(shown, path)} is present {_where(tree[path], base)}"
        for pattern in a.absent
        for shown, path in matches(tree, pattern)
    ]


def _keys(a: Assertions, tree: Tree, base: tuple[bool, ...], c: Any) -> list[str] | None:
    if not a.no_private_keys:
        return None
    found = []
    for path, node in sorted(tree.items()):
        if node.entry.kind not in ("file", "hardlink"):
            continue
        name = posixpath.basename(path)
        if node.entry.key:
            found.append(f"{path} holds a PEM private key {_where(node, base)}")
        elif any(fnmatch.fnmatchcase(name, k) for k in _KEY_NAMES):
            found.append(f"{path} is named like a private key {_where(node, base)}")
    return found


def _setuid(a: Assertions, tree: Tree, base: tuple[bool, ...], c: Any) -> list[str] | None:
    if not a.no_setuid:
        return None
    found = []
    for path, node in sorted(tree.items()):
        entry = node.entry
        if entry.kind not in ("file", "hardlink") or not entry.mode & 0o6000:
            continue
        bits = []
        if entry.mode & 0o4000:
            bits.append("setuid root" if entry.uid == 0 else f"setuid uid {entry.uid}")
        if entry.mode & 0o2000:
            bits.append("setgid root" if entry.gid == 0 else f"setgid gid {entry.gid}")
        found.append(f"{path} is {' and '.join(bits)} {_where(node, base)}")
    return found


def _writable(a: Assertions, tree: Tree, base: tuple[bool, ...], c: Any) -> list[str] | None:
    if not a.no_world_writable:
        return None
    return [
        f"{path} is world-writable (mode {node.entry.mode & 0o7777:04o}) {_where(node, base)}"
        for path, node in sorted(tree.items())
        if node.entry.kind != "symlink"  # a symlink's own mode is always 0777, and unused
        and node.entry.mode & 0o002
        and not (node.entry.kind == "dir" and node.entry.mode & 0o1000)  # /var/tmp's shape
        and path != _TMP
        and not path.startswith(_TMP + "/")
    ]


def _max_files(a: Assertions, tree: Tree, base: tuple[bool, ...], c: Any) -> list[str] | None:
    if a.max_files is None:
        return None
    count = sum(1 for node in tree.values() if node.entry.kind != "dir")
    return [f"{count} files > max_files {a.max_files}"] if count > a.max_files else []


def _user(a: Assertions, tree: Tree, base: tuple[bool, ...], c: Any) -> list[str] | None:
    if a.user is None:
        return None
    user = str(c.get("User") or "")
    name = user.split(":")[0]
    if a.user == "nonroot":
        if name in ("", "0", "root"):
            return [f"the image runs as root (User {user!r})"]
        return []
    actual = user if ":" in a.user else name
    return [] if actual == a.user else [f"the image runs as {user!r}, not {a.user!r}"]


def _exec_form(a: Assertions, tree: Tree, base: tuple[bool, ...], c: Any) -> list[str] | None:
    if not a.exec_form:
        return None
    found = []
    for key in ("Entrypoint", "Cmd"):
        command = c.get(key) or []
        if _shell_form(command):
            found.append(f"{key} is in shell form: {' '.join(map(str, command))}")
    return found


def _shell_form(command: Sequence[Any]) -> bool:
    return (
        len(command) >= 2
        and posixpath.basename(str(command[0])) in _SHELLS
        and str(command[1]) == "-c"
    )


def _ports(a: Assertions, tree: Tree, base: tuple[bool, ...], c: Any) -> list[str] | None:
    if not a.ports:
        return None
    exposed = set(c.get("ExposedPorts") or {})
    wanted = set(a.ports)
    return [f"port {p} is not exposed" for p in sorted(wanted - exposed)] + [
        f"port {p} is exposed but not asserted" for p in sorted(exposed - wanted)
    ]


def _labels(a: Assertions, tree: Tree, base: tuple[bool, ...], c: Any) -> list[str] | None:
    if not a.labels:
        return None
    labels = c.get("Labels") or {}
    return [f"label {key} is missing" for key in a.labels if key not in labels]


_CHECKS: tuple[tuple[str, Check], ...] = (
    ("present", _present),
    ("absent", _absent),
    ("no_private_keys", _keys),
    ("no_setuid", _setuid),
    ("no_world_writable", _writable),
    ("max_files", _max_files),
    ("user", _user),
    ("exec_form", _exec_form),
    ("ports", _ports),
    ("labels", _labels),
)
