"""buildx's `--progress=rawjson` stream: shown to the user as plain progress lines, and
read for which bake targets broke.

Why rawjson (measured with buildx 0.13.1): when a bake fails, buildx writes no
`--metadata-file` at all (not even for the targets it exported before the failure),
and its final error does not name the target. Its rawjson progress does: every vertex
of every target's build graph, with its inputs, also those that never started; vertex
names prefixed `[target …]` by bake (only when it builds more than one target); the
error of each vertex that failed, where the vertices cancelled because another target
failed carry "context canceled". A vertex several targets share (a build stage two
runtimes have in common) is shown under one target's name only, so a target counts as
broken when any of its own vertices depends, through the graph, on a vertex that failed.

It also says when a target's image is in the store, while the others still build: the
target's `exporting to image` vertex ended without error, and its statuses named what
that export wrote (`writing image sha256:…` in the classic store; `exporting manifest
list sha256:…`, `exporting manifest …`, `exporting config …` in the containerd store and
a tarball load). The image ID a store gives the loaded image is one of those digests:
the caller compares before it trusts the tag (slim_bake.bake).

The display follows buildx's `--progress=plain` format (`#N name`, `#N DONE 0.3s`,
`#N ERROR: …`): every line starts with `#`, and control characters in build logs are
written as escapes, so a build's output cannot repaint a terminal or start a CI
workflow command."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

Write = Callable[[str], None]
Exported = Callable[[str, tuple[str, ...]], None]  # a target, the digests its export wrote

_TARGET_PREFIX = re.compile(r"\[([A-Za-z0-9_-]+)[\] ]")
# `--cache`: a cache not written yet (the first run) fails its import vertex, and a cache
# that cannot be written its export vertex (ignore-error=true); BuildKit builds on, the
# image is exported: neither breaks the target.
_CACHE_STEP = re.compile(
    r"^(\[[A-Za-z0-9_-]+\] )?(importing cache manifest from |exporting cache to )"
)
_FRACTION = re.compile(r"(\.\d{6})\d+")
# An export's statuses that name an object it wrote, whose digest an image store takes
# for the image ID: the config (classic store), the manifest or index (containerd).
_WROTE = re.compile(
    r"(?:writing image|exporting (?:manifest list|manifest|config)) (sha256:[0-9a-f]{64})"
)
_EXPORTS = ("exporting to image", "exporting to docker image format")  # --load's exporters


@dataclass
class Vertex:
    """What the stream said so far about one vertex (keyed by digest)."""

    name: str = ""
    inputs: tuple[str, ...] = ()
    number: int = 0  # its `#N` in the display; 0 until shown
    started: str = ""
    completed: str = ""
    cached: bool = False
    error: str = ""
    ended: bool = False  # its end (DONE, CACHED, ERROR, CANCELED) was shown
    wrote: tuple[str, ...] = ()  # digests its statuses named as written (an export's)
    partial: bytes = b""  # log output after its last newline: chunks split lines anywhere


def cancelled(error: str) -> bool:
    """A vertex stopped because the bake was cancelled (or another target failed), not
    broken itself. A process
    killed by the cancellation sometimes shows only its SIGKILL (exit code 137, without
    "context canceled"): taken as cancelled too, so at worst that target is baked once
    more, where it fails again by itself if it really was killed for its own sake."""
    text = error.strip()
    return (
        "context canceled" in text
        or text.lower() == "canceled"
        or text.endswith("did not complete successfully: exit code: 137")
        # buildx's own steps after a target's build (`pushing … with docker`) end with the
        # whole solve's error, another target's failure quoted: not theirs.
        or "failed to solve: " in text
    )


class BuildxProgress:
    """Feed it buildx's stderr line by line; it writes the display through `write` and
    keeps the build graph for `broken`. `exported` is called (on the reading thread) as
    soon as a target's export to the image store has ended without error; `targets`:
    the bake's targets (with one, bake prefixes no vertex name: its export is that
    target's)."""

    def __init__(
        self, write: Write, exported: Exported | None = None, targets: Collection[str] = ()
    ) -> None:
        self._write = write
        self._exported = exported
        self._targets = frozenset(targets)
        self.vertices: dict[str, Vertex] = {}
        self.exports: dict[str, tuple[str, ...]] = {}  # target: the digests its export wrote
        self._pending: list[str] = []  # lines of a JSON object not yet closed
        self._numbers = 0

    def read(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.feed(line)
        self.close()

    def feed(self, line: str) -> None:
        """One line of buildx's stderr. rawjson writes each message as an indented
        JSON object from a `{` line to a `}` line; anything else (the error summary
        buildx prints at the end) is shown as it is."""
        text = line.rstrip("\n")
        if not self._pending and text.startswith("{") and text.endswith("}"):
            self._pending = [text]  # a message on one line (buildx writes `{}`)
            self._message(text)
            return
        if self._pending or text == "{":
            self._pending.append(text)
            if text == "}":
                self._message("\n".join(self._pending))
            return
        if text.strip():
            self._write(shown(text))

    def close(self) -> None:
        """End of stream: an object left open is shown as text, unfinished log lines too."""
        pending, self._pending = self._pending, []
        for text in pending:
            self._write(shown(text))
        for vertex in self.vertices.values():
            self._flush(vertex)

    def _message(self, text: str) -> None:
        lines, self._pending = self._pending, []
        try:
            message = json.loads(text)
        except ValueError:
            for line in lines:
                self._write(shown(line))
            return
        if not isinstance(message, dict):
            return
        statuses = _records(message.get("statuses"))
        for status in statuses:  # first: a message can also hold the export's end
            self._wrote(status)
        for vertex in _records(message.get("vertexes")):
            self._vertex(vertex)
        for status in statuses:
            self._status(status)
        for log in _records(message.get("logs")):
            self._log(log)

    def _get(self, digest: object) -> Vertex:
        return self.vertices.setdefault(str(digest), Vertex())

    def _number(self, vertex: Vertex) -> int:
        if not vertex.number:
            self._numbers += 1
            vertex.number = self._numbers
        return vertex.number

    def _vertex(self, record: dict[str, object]) -> None:
        vertex = self._get(record.get("digest"))
        vertex.name = str(record.get("name") or vertex.name)
        inputs = record.get("inputs")
        if isinstance(inputs, list):
            vertex.inputs = tuple(str(i) for i in inputs)
        started = str(record.get("started") or "")
        if started and not vertex.number:
            self._write(f"#{self._number(vertex)} {shown(vertex.name)}")
        vertex.started = started or vertex.started
        vertex.cached = vertex.cached or bool(record.get("cached"))
        vertex.error = str(record.get("error") or vertex.error)
        vertex.completed = str(record.get("completed") or vertex.completed)
        if vertex.completed and not vertex.ended:
            vertex.ended = True
            self._flush(vertex)
            self._write(f"#{self._number(vertex)} {self._end(vertex)}")
            if not vertex.error:
                self._export_ended(vertex)

    def _export_ended(self, vertex: Vertex) -> None:
        """A target's image is in the store when its export vertex ended well."""
        prefix = target_of(vertex.name)
        step = vertex.name.removeprefix(f"[{prefix}] ") if prefix else vertex.name
        if step not in _EXPORTS:
            return
        if not prefix and len(self._targets) == 1:
            (prefix,) = self._targets
        if not prefix or (self._targets and prefix not in self._targets):
            return
        self.exports[prefix] = vertex.wrote
        if self._exported is not None:
            self._exported(prefix, vertex.wrote)

    def _end(self, vertex: Vertex) -> str:
        if vertex.error:
            return "CANCELED" if cancelled(vertex.error) else f"ERROR: {shown(vertex.error)}"
        if vertex.cached:
            return "CACHED"
        seconds = _seconds(vertex.started, vertex.completed)
        return "DONE" if seconds is None else f"DONE {seconds:.1f}s"

    def _wrote(self, record: dict[str, object]) -> None:
        wrote = _WROTE.fullmatch(str(record.get("id", "")))
        if wrote:
            vertex = self._get(record.get("vertex"))
            if wrote.group(1) not in vertex.wrote:
                vertex.wrote = (*vertex.wrote, wrote.group(1))

    def _status(self, record: dict[str, object]) -> None:
        if record.get("completed"):
            vertex = self._get(record.get("vertex"))
            self._write(f"#{self._number(vertex)} {shown(str(record.get('id', '')))} done")

    def _log(self, record: dict[str, object]) -> None:
        vertex = self._get(record.get("vertex"))
        try:
            data = base64.b64decode(str(record.get("data", "")), validate=True)
        except (binascii.Error, ValueError):
            return
        *lines, vertex.partial = (vertex.partial + data).split(b"\n")
        for line in lines:
            self._show_log(vertex, line)

    def _flush(self, vertex: Vertex) -> None:
        if vertex.partial:
            line, vertex.partial = vertex.partial, b""
            self._show_log(vertex, line)

    def _show_log(self, vertex: Vertex, line: bytes) -> None:
        text = line.decode("utf-8", errors="replace").rstrip("\r")
        self._write(f"#{self._number(vertex)} {shown(text)}")

    def broken(self, targets: Collection[str]) -> set[str]:
        """The targets (of `targets`, the ones this bake built) whose build graph holds a
        vertex that failed by itself, not by cancellation."""
        failed = [
            d
            for d, v in self.vertices.items()
            if v.error and not cancelled(v.error) and not _CACHE_STEP.search(v.name)
        ]
        if not failed:
            return set()
        if len(targets) == 1:
            return set(targets)  # bake prefixes no vertex name when it builds one target
        dependents: dict[str, set[str]] = {}
        for digest, vertex in self.vertices.items():
            for source in vertex.inputs:
                dependents.setdefault(source, set()).add(digest)
        reached, stack = set(failed), list(failed)
        while stack:
            for dependent in dependents.get(stack.pop(), ()):
                if dependent not in reached:
                    reached.add(dependent)
                    stack.append(dependent)
        names = {target_of(self.vertices[d].name) for d in reached if d in self.vertices}
        return {name for name in names if name in targets}


def target_of(name: str) -> str:
    """The bake target a vertex name is prefixed with: `[hello-scratch build 4/5] RUN …`
    and `[hello-scratch] exporting to image` give hello-scratch; '' when none."""
    match = _TARGET_PREFIX.match(name)
    return match.group(1) if match else ""


def shown(text: str) -> str:
    """`text` with control characters and other unprintable ones (line and paragraph
    separators, bidi overrides; tab aside) written as escapes (\\x1b, \\u2028…)."""
    if text.isprintable():
        return text
    return "".join(ch if ch == "\t" or ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def _records(value: object) -> list[dict[str, object]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _seconds(started: str, completed: str) -> float | None:
    try:
        begin, end = (datetime.fromisoformat(_FRACTION.sub(r"\1", t)) for t in (started, completed))
    except ValueError:
        return None
    return (end - begin).total_seconds()
