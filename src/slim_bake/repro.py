"""Is a target reproducible? Two builds of it from an empty cache, compared: image IDs,
then the image config, the layers' diff_ids and, for a layer that differs, its files
(what differs about each: content, size, mode, owner, mtime, link target, or present
in one build only).

Images are read from `docker save` (manifest.json, which the classic store and docker
25+ both write beside an OCI layout), one layer tar at a time; a file's content is
compared by its SHA-256, so an image is never held in memory. The builds themselves are
the caller's (`slim bake --repro-check` passes bake's, with --no-cache): this module
builds nothing and imports no stage above the engine."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tarfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import PurePosixPath
from typing import IO, Any, cast

from slim_bake import engine
from slim_bake.errors import BuildError
from slim_bake.plan import Target

_CHUNK = 1 << 20
SHOWN_FILES = 20  # files named per differing layer; the rest are counted
# Config fields that are the layers again (compared layer by layer instead).
_LAYER_FIELDS = ("rootfs",)


@dataclass(frozen=True)
class Entry:
    """One member of a layer tar, as the comparison needs it."""

    kind: str  # file, dir, symlink, hardlink, other
    mode: int
    owner: str  # uid:gid
    mtime: int
    size: int
    content: str  # sha256 of a file's bytes; a link's target


@dataclass(frozen=True)
class SavedImage:
    image_id: str
    config: dict[str, Any]
    diff_ids: tuple[str, ...]
    layers: tuple[dict[str, Entry], ...]  # per layer: path → entry


@dataclass(frozen=True)
class FileDifference:
    path: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class LayerDifference:
    index: int  # 0-based position in the image
    first: str | None  # diff_id in the first build (None: the layer is absent)
    second: str | None
    created_by: str  # the instruction behind it (the second build's history)
    files: tuple[FileDifference, ...]


@dataclass(frozen=True)
class Outcome:
    target: str
    first: str  # image ID of each build
    second: str
    config: tuple[str, ...] = ()  # config fields that differ (created, history, ...)
    layers: tuple[LayerDifference, ...] = field(default_factory=tuple)

    @property
    def reproducible(self) -> bool:
        return self.first == self.second


# --- Reading an image -------------------------------------------------------------------


def read_saved(stream: IO[bytes]) -> SavedImage:
    """A `docker save` archive, read in one pass."""
    jsons: dict[str, Any] = {}
    layers: dict[str, dict[str, Entry]] = {}
    links: dict[str, str] = {}
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                _read_member(tar, member, jsons, layers, links)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BuildError(f"cannot read the image archive: {exc}") from exc
    return _assemble(jsons, layers, links)


def _read_member(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    jsons: dict[str, Any],
    layers: dict[str, dict[str, Entry]],
    links: dict[str, str],
) -> None:
    name = _normal(member.name)
    if member.issym() or member.islnk():  # docker 25+: <id>/layer.tar → its blob
        base = PurePosixPath(name).parent if member.issym() else PurePosixPath()
        links[name] = _normal(str(base / member.linkname))
        return
    handle = tar.extractfile(member) if member.isfile() else None
    if handle is None:
        return
    head = cast(io.BufferedReader, handle).peek(1)[:1]
    if name.endswith(".json") or (head in (b"{", b"[") and member.size < 16 << 20):
        jsons[name] = json.loads(handle.read())
    elif name.endswith("layer.tar") or name.startswith("blobs/"):
        layers[name] = read_layer(handle)


def read_layer(raw: IO[bytes]) -> dict[str, Entry]:
    """path → entry of one layer tar (gzip'd or not)."""
    entries: dict[str, Entry] = {}
    with tarfile.open(fileobj=raw, mode="r|*") as tar:
        for member in tar:
            entries["/" + _normal(member.name)] = _entry(tar, member)
    return entries


def _entry(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Entry:
    content = ""
    if member.isfile():
        digest = hashlib.sha256()
        handle = tar.extractfile(member)
        assert handle is not None
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
        content = digest.hexdigest()
    elif member.issym() or member.islnk():
        content = member.linkname
    kinds = {tarfile.REGTYPE: "file", tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink"}
    kind = "hardlink" if member.islnk() else kinds.get(member.type, "other")
    if member.type == tarfile.AREGTYPE:
        kind = "file"
    return Entry(
        kind=kind,
        mode=member.mode,
        owner=f"{member.uid}:{member.gid}",
        mtime=int(member.mtime),
        size=member.size,
        content=content,
    )


def _normal(name: str) -> str:
    parts = [p for p in PurePosixPath(name).parts if p not in (".", "/", "..")]
    return "/".join(parts)


def _assemble(
    jsons: dict[str, Any], layers: dict[str, dict[str, Entry]], links: dict[str, str]
) -> SavedImage:
    manifest = jsons.get("manifest.json")
    if not isinstance(manifest, list) or not manifest:
        raise BuildError("the image archive has no manifest.json")
    entry = manifest[0]
    config_name = _normal(entry["Config"])
    config = jsons.get(config_name)
    if not isinstance(config, dict):
        raise BuildError(f"the image archive has no config {config_name}")
    found = []
    for name in entry["Layers"]:
        member = links.get(_normal(name), _normal(name))
        if member not in layers:
            raise BuildError(f"the image archive lacks layer {name}")
        found.append(layers[member])
    diff_ids = tuple(str(d) for d in config.get("rootfs", {}).get("diff_ids", []))
    image_id = "sha256:" + config_name.rsplit("/", 1)[-1].removesuffix(".json")
    return SavedImage(image_id, config, diff_ids, tuple(found))


def save(image: str) -> SavedImage:
    """`docker save IMAGE` from the engine slim builds with, read as it streams."""
    import docker

    try:
        found = engine.client().images.get(image)
        stream = io.BufferedReader(_Chunks(found.save(chunk_size=_CHUNK)), _CHUNK)
        return read_saved(stream)
    except docker.errors.DockerException as exc:
        raise BuildError(f"cannot export {image} to compare it: {exc}") from exc


def _remove(image: str) -> None:
    """Remove an image this check made (the first build's, untagged by the second)."""
    import docker

    with contextlib.suppress(docker.errors.DockerException):  # still in use: left
        engine.client().images.remove(image)


class _Chunks(io.RawIOBase):
    """The SDK's chunk iterator as a readable stream."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            self._left = next(self._chunks, b"")
            if not self._left:
                return 0
        count = min(len(buffer), len(self._left))
        buffer[:count] = self._left[:count]
        self._left = self._left[count:]
        return count


# --- Comparing two builds ---------------------------------------------------------------


def compare(target: str, first: SavedImage, second: SavedImage) -> Outcome:
    """What differs between two builds of `target`."""
    if first.image_id == second.image_id:
        return Outcome(target, first.image_id, second.image_id)
    keys = sorted(set(first.config) | set(second.config))
    config = tuple(
        k for k in keys if k not in _LAYER_FIELDS and first.config.get(k) != second.config.get(k)
    )
    made = _created_by(second.config, len(second.diff_ids))
    layers = []
    pairs = zip_longest(first.diff_ids, second.diff_ids)
    for index, (one, two) in enumerate(pairs):
        if one == two:
            continue
        files = _files(
            first.layers[index] if one is not None else {},
            second.layers[index] if two is not None else {},
        )
        layers.append(LayerDifference(index, one, two, made[index] if two else "", files))
    return Outcome(target, first.image_id, second.image_id, config, tuple(layers))


def _files(first: dict[str, Entry], second: dict[str, Entry]) -> tuple[FileDifference, ...]:
    found = []
    for path in sorted(set(first) | set(second)):
        one, two = first.get(path), second.get(path)
        if one is None:
            found.append(FileDifference(path, ("in the second build only",)))
        elif two is None:
            found.append(FileDifference(path, ("in the first build only",)))
        elif one != two:
            found.append(FileDifference(path, reasons(one, two)))
    return tuple(found)


def reasons(one: Entry, two: Entry) -> tuple[str, ...]:
    """Why two entries of one path differ, in words."""
    said = []
    if one.kind != two.kind:
        said.append(f"type {one.kind} vs {two.kind}")
    elif one.content != two.content:
        what = "link target" if one.kind in ("symlink", "hardlink") else "content"
        said.append(f"{what} ({_sizes(one, two)})" if one.kind == "file" else what)
    if one.mode != two.mode:
        said.append(f"mode {one.mode:04o} vs {two.mode:04o}")
    if one.owner != two.owner:
        said.append(f"owner {one.owner} vs {two.owner}")
    if one.mtime != two.mtime:
        said.append(f"mtime {one.mtime} vs {two.mtime}")
    return tuple(said)


def _sizes(one: Entry, two: Entry) -> str:
    return f"{one.size} B both" if one.size == two.size else f"{one.size} B vs {two.size} B"


def _created_by(config: dict[str, Any], count: int) -> list[str]:
    history = [h for h in config.get("history", []) if not h.get("empty_layer", False)]
    made = [str(h.get("created_by", "")) for h in history]
    return made if len(made) == count else ["" for _ in range(count)]


# --- The check ------------------------------------------------------------------------


Build = Callable[[], set[str]]  # one build of every target from an empty cache: those built


def check(targets: list[Target], build: Build) -> list[Outcome]:
    """Build `targets` twice (each build from an empty cache, the second after the
    first), and compare each target's two images. A target that does not build is a
    BuildError: reproducibility says nothing about it."""
    tags = {t.name: t.tags[0] for t in targets}
    first = _ids(tags, build(), "first")
    second = _ids(tags, build(), "second")
    outcomes = []
    for name in tags:
        if first[name] == second[name]:
            outcomes.append(Outcome(name, first[name], second[name]))
            continue
        outcomes.append(compare(name, save(first[name]), save(second[name])))
        _remove(first[name])  # made by this check, untagged since the second
    return outcomes


def _ids(tags: dict[str, str], built: set[str], which: str) -> dict[str, str]:
    broken = sorted(set(tags) - built)
    if broken:
        raise BuildError(f"--repro-check: the {which} build of {', '.join(broken)} failed")
    ids = engine.image_ids(list(tags.values()))
    missing = [name for name, tag in tags.items() if ids[tag] is None]
    if missing:
        raise BuildError(f"--repro-check: {', '.join(missing)} built but not in the image store")
    return {name: str(ids[tag]) for name, tag in tags.items()}


def describe(outcome: Outcome) -> Iterable[str]:
    """The lines that say what differs between the two builds of a target."""
    if outcome.reproducible:
        yield f"{outcome.target}: reproducible ({outcome.first})"
        return
    yield f"{outcome.target}: NOT reproducible ({outcome.first} vs {outcome.second})"
    if outcome.config:
        yield f"  image config differs: {', '.join(outcome.config)}"
    for layer in outcome.layers:
        made = f" ({layer.created_by})" if layer.created_by else ""
        yield f"  layer {layer.index + 1}{made}: {layer.first} vs {layer.second}"
        for diff in layer.files[:SHOWN_FILES]:
            yield f"    {diff.path}: {', '.join(diff.reasons)}"
        if len(layer.files) > SHOWN_FILES:
            yield f"    ... and {len(layer.files) - SHOWN_FILES} more files"
