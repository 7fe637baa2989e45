"""Measure an image where it is: in the local engine (`docker://NAME`), in an OCI image
layout (`oci:DIR[:TAG]`) or in a registry (`HOST[:PORT]/REPO[:TAG|@DIGEST]`).

For a layout or a registry the image is read by its manifest, and a layer's compressed
size is its blob's size in the manifest — exactly what a pull downloads — rather than
slim's gzip estimate (`measure`'s, for the engine). Its content size, diff_id and files
come from reading the blob once (gzip, zstd or plain), streamed, kept in the
measurement cache by diff_id: measuring it again reads the manifest only (the config is
cached by its digest too). A blob is checked against its digest and size as it streams.

An index (a multi-platform image, or a layout's index.json) is followed to one image:
the platform asked for, else the first linux/amd64, else the only one; attestation
manifests (BuildKit's provenance and SBOM) are never picked."""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from slim_bake import measure as measuring
from slim_bake.cachedir import cache_dir
from slim_bake.errors import BuildError, UsageError
from slim_bake.measure import FileInfo, LayerStats, MeasureCache, Measurement, measure_layer
from slim_bake.registry import (
    INDEX_TYPES,
    BlobReader,
    Reference,
    Registry,
    check_digest,
    looks_like_registry,
    parse_reference,
)
from slim_bake.safe_text import printable, warn

DOCKER_PREFIX = "docker://"
OCI_PREFIX = "oci:"
REF_NAME = "org.opencontainers.image.ref.name"
REFERENCE_TYPE = "vnd.docker.reference.type"
_ATTESTED = "vnd.docker.reference.digest"  # the image an attestation manifest is about
_PREDICATE = "in-toto.io/predicate-type"
MAX_NESTING = 4  # index → index → manifest is what buildx writes; deeper is a loop
MAX_DOCUMENT = 4 << 20  # bytes of a layout's index.json, manifest or config
DEFAULT_PLATFORM = "linux/amd64"
_CHUNK = 1 << 20
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_ENGINE_NAME = re.compile(
    rf"^{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@sha256:[0-9a-f]{64})?$"
)
_IMAGE_ID = re.compile(r"^(?:sha256:)?[0-9a-f]{12,64}$")


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int


@dataclass(frozen=True)
class RemoteLayer:
    """One layer as its manifest and config tell it; `size` from the cache when known."""

    diff_id: str
    compressed: int  # the blob's size
    size: int | None  # content bytes, None when never measured here
    created_by: str


@dataclass(frozen=True)
class ImageInfo:
    """An image's manifest and config, no layer read (what a registry baseline needs)."""

    image: str
    image_id: str  # the config's digest, as docker's image ID
    layers: tuple[RemoteLayer, ...]


class Store(Protocol):
    """Where an image's manifests and blobs are read from."""

    name: str

    def top(self) -> tuple[bytes, str]:
        """The manifest or index the reference names, and its media type ("" unknown)."""

    def manifest(self, digest: str) -> bytes: ...

    def document(self, digest: str) -> bytes:
        """A small blob (the config), checked against its digest."""

    def open_blob(self, layer: Descriptor) -> BlobReader: ...


# --- References -----------------------------------------------------------------------


def measure_reference(
    ref: str,
    base_image: str | None = None,
    *,
    cache: MeasureCache | None = None,
    platform: str | None = None,
    contents: bool = False,
) -> Measurement:
    """Measure the image `ref` names (see the module's doc); `base_image` is the FROM of
    its runtime stage, whose leading layers count as the base's; `contents`: also every
    layer's entries and the image config, for `assert:`. UsageError for a malformed
    reference, BuildError for an image that cannot be reached or read."""
    cache = cache or MeasureCache(cache_dir())
    if is_engine_reference(ref):
        return measuring.measure(engine_name(ref), base_image, cache=cache, contents=contents)
    store = open_store(ref)
    return measure_store(store, base_image, cache=cache, platform=platform, contents=contents)


def is_engine_reference(ref: str) -> bool:
    """docker://NAME, or a name without a registry host (alpine:3): the local engine's."""
    if ref.startswith(DOCKER_PREFIX):
        if not ref[len(DOCKER_PREFIX) :]:
            raise UsageError("docker://: name an image, e.g. docker://alpine:3")
        return True
    return not ref.startswith(OCI_PREFIX) and not looks_like_registry(ref)


def engine_name(ref: str) -> str:
    """The engine's name for docker://NAME (or NAME): a reference or an image ID, else
    UsageError — before the engine is asked."""
    name = ref.removeprefix(DOCKER_PREFIX)
    if not (_ENGINE_NAME.match(name) or _IMAGE_ID.match(name)):
        raise UsageError(f"{printable(ref)!s}: not an image name (NAME[:TAG][@DIGEST]) or ID")
    return name


def open_store(ref: str) -> Store:
    """The layout or registry `ref` names (not the engine's)."""
    if ref.startswith(OCI_PREFIX):
        return LayoutStore.open(ref)
    return RegistryStore(parse_reference(ref))


def inspect_reference(
    ref: str, *, cache: MeasureCache | None = None, platform: str | None = None
) -> ImageInfo:
    """An image's layers from its manifest and config only: compressed sizes from the
    descriptors, content sizes from the cache where the layer was measured before."""
    cache = cache or MeasureCache(cache_dir())
    store = open_store(ref)
    layers, config_digest, created = resolve(store, cache, platform)
    remote = []
    for (descriptor, diff_id), made_by in zip(layers, created, strict=True):
        known = cache.layer(diff_id, with_files=False, estimate=False)
        size = known.size if known is not None else None
        remote.append(RemoteLayer(diff_id, descriptor.size, size, made_by))
    return ImageInfo(store.name, config_digest, tuple(remote))


def cached_files(
    info: ImageInfo, start: int, cache: MeasureCache | None = None
) -> tuple[FileInfo, ...] | None:
    """The files of the image's layers from `start` on, from the cache; None when one of
    those layers was never measured here."""
    cache = cache or MeasureCache(cache_dir())
    files: list[FileInfo] = []
    for index, layer in enumerate(info.layers[start:], start):
        found = cache.layer(layer.diff_id, estimate=False)
        if found is None:
            return None
        files += [FileInfo(path, size, index) for path, size in found.files]
    return tuple(files)


def engine_layers(name: str) -> tuple[str, tuple[str, ...]] | None:
    """An image's ID and diff_ids in the local engine, never pulled; None when the engine
    or the image is not there."""
    try:
        import docker

        from slim_bake.engine import client

        found = client().images.get(name)
    except (BuildError, ImportError):
        return None
    except docker.errors.DockerException:
        return None
    return str(found.id), tuple(found.attrs.get("RootFS", {}).get("Layers", []))


# --- Measuring from a store --------------------------------------------------------------


def measure_store(
    store: Store,
    base_image: str | None,
    *,
    cache: MeasureCache,
    platform: str | None = None,
    contents: bool = False,
) -> Measurement:
    attested: list[str] = []
    layers, config_digest, created = resolve(store, cache, platform, attested)
    diff_ids = tuple(diff_id for _, diff_id in layers)
    base_id, base_diff_ids = _base(base_image, store, cache, platform)
    shared = measuring._shared(diff_ids, base_diff_ids)
    if base_diff_ids and not shared:
        warn(
            f"slim: note: {printable(store.name)} does not start with the layers of"
            f" {printable(base_image or '')}: all its layers count as the image's own"
        )
    stats: dict[str, LayerStats | None] = {}
    for index, (descriptor, diff_id) in enumerate(layers):
        found = cache.layer(
            diff_id, with_files=index >= shared, with_entries=contents, estimate=False
        )
        if found is None:
            found = _read_layer(store, descriptor, diff_id, cache)
        # The pull's size, not slim's estimate: the cache keeps the estimate for `measure`.
        stats[diff_id] = replace(found, compressed=descriptor.size)
    measured = measuring._assemble(
        store.name, config_digest, base_image, base_id, base_diff_ids, (diff_ids, created), stats
    )
    entries = tuple(s.entries for s in map(stats.get, diff_ids) if s) if contents else ()
    config = _image_config(store, config_digest, cache)
    return replace(
        measured,
        entries=entries,
        image_config=config,
        attestations=tuple(sorted(attested)),
        compression=measuring.STORED,
        store="OCI layout" if isinstance(store, LayoutStore) else "registry",
    )


def _image_config(store: Store, config_digest: str, cache: MeasureCache) -> dict[str, Any]:
    """The config's `config` (user, entrypoint, ports, labels: always judged, as measure's
    is), from the cache when this image was measured before: no request then."""
    found = cache.image_config(config_digest)
    if found is None:
        document = _json(store.document(config_digest), store.name).get("config")
        found = document if isinstance(document, dict) else {}
        cache.put_image_config(config_digest, found)
    return found


def _read_layer(
    store: Store, descriptor: Descriptor, diff_id: str, cache: MeasureCache
) -> LayerStats:
    with store.open_blob(descriptor) as blob:
        buffered = io.BufferedReader(blob, _CHUNK)  # kept: collecting it would close blob
        stats = measure_layer(buffered, estimate=False)  # the blob's size is the figure
        blob.verify()  # what is left after the tar's end (hashed as read, buffered or not)
    if stats.diff_id != diff_id:
        raise BuildError(
            f"{printable(store.name)}: layer {descriptor.digest} holds {stats.diff_id},"
            f" its config says {diff_id}"
        )
    cache.put_layer(stats)
    return stats


def resolve(
    store: Store,
    cache: MeasureCache,
    platform: str | None,
    attested: list[str] | None = None,
) -> tuple[list[tuple[Descriptor, str]], str, tuple[str, ...]]:
    """([(layer descriptor, diff_id)], config digest, created_by of each layer); the
    predicate types of the image's attestations are added to `attested` when given."""
    manifest = _image_manifest(store, platform, attested)
    try:
        config = _descriptor(manifest["config"])
        layers = [_descriptor(entry) for entry in manifest.get("layers", [])]
    except (KeyError, TypeError, ValueError) as exc:
        raise BuildError(f"{printable(store.name)}: a malformed manifest ({exc})") from None
    layout = cache.image(config.digest)
    if layout is None:
        document = _json(store.document(config.digest), store.name)
        diff_ids = document.get("rootfs", {}).get("diff_ids", [])
        if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
            raise BuildError(f"{printable(store.name)}: its config lists no diff_ids")
        layout = tuple(diff_ids), measuring.created_by(document)
        cache.put_image(config.digest, *layout)
        found = document.get("config")  # kept too: measure_store judges it, unasked again
        cache.put_image_config(config.digest, found if isinstance(found, dict) else {})
    diff_ids, created = layout
    if len(diff_ids) != len(layers):
        raise BuildError(
            f"{printable(store.name)}: its manifest lists {len(layers)} layers, its config"
            f" {len(diff_ids)}"
        )
    return list(zip(layers, diff_ids, strict=True)), config.digest, created


def _image_manifest(
    store: Store, platform: str | None, attested: list[str] | None = None
) -> dict[str, Any]:
    """Follow indexes (nested too) to the one image manifest to measure; the predicate
    types of the attestations an index keeps for it go into `attested` when given."""
    body, media_type = store.top()
    for _ in range(MAX_NESTING):
        document = _json(body, store.name)
        if media_type not in INDEX_TYPES and "manifests" not in document:
            return document
        entry = pick(document.get("manifests"), platform, store.name)
        if attested is not None:
            attested += _predicates(store, document.get("manifests"), entry.digest)
        body, media_type = store.manifest(entry.digest), entry.media_type
    raise BuildError(f"{printable(store.name)}: indexes nested more than {MAX_NESTING} deep")


def pick(entries: Any, platform: str | None, name: str) -> Descriptor:
    """The index entry to follow: the platform asked for (default: the first
    linux/amd64, else the only image); an entry without a platform (a nested index, a
    layout's single image) when nothing names one; never an attestation. A platform
    without a variant (linux/arm64) matches any of its variants (linux/arm64/v8)."""
    if not isinstance(entries, list):
        raise BuildError(f"{printable(name)}: an index without a manifests list")
    images = [e for e in entries if isinstance(e, dict) and not _attestation(e)]
    wanted = platform or DEFAULT_PLATFORM
    matching = [e for e in images if _matches(_platform(e), wanted)]
    unnamed = [e for e in images if _platform(e) is None]
    if matching:
        chosen = matching[0]
    elif platform is None and len(images) == 1:
        chosen = images[0]
    elif unnamed:
        chosen = unnamed[0]
    else:
        offered = ", ".join(sorted({str(_platform(e)) for e in images})) or "no image"
        raise BuildError(f"{printable(name)}: no {wanted} image in its index ({offered})")
    try:
        return _descriptor(chosen)
    except (KeyError, TypeError, ValueError) as exc:
        raise BuildError(f"{printable(name)}: a malformed index entry ({exc})") from None


def _matches(offered: str | None, wanted: str) -> bool:
    if offered is None:
        return False
    return offered == wanted or (wanted.count("/") == 1 and offered.rsplit("/", 1)[0] == wanted)


def _predicates(store: Store, entries: Any, image_digest: str) -> list[str]:
    """The in-toto predicate types (provenance, SPDX…) of the attestation manifests that
    BuildKit put in the index for the image `image_digest`: read from each attestation
    manifest's layer annotations, no layer pulled."""
    found: list[str] = []
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or not _attestation(entry):
            continue
        if (entry.get("annotations") or {}).get(_ATTESTED) != image_digest:
            continue
        manifest = _json(store.manifest(_descriptor(entry).digest), store.name)
        for layer in manifest.get("layers") or ():
            notes = layer.get("annotations") if isinstance(layer, dict) else None
            kind = notes.get(_PREDICATE) if isinstance(notes, dict) else None
            if isinstance(kind, str) and kind not in found:
                found.append(kind)
    return found


def _attestation(entry: dict[str, Any]) -> bool:
    annotations = entry.get("annotations") or {}
    platform = entry.get("platform") or {}
    return (
        isinstance(annotations, dict) and annotations.get(REFERENCE_TYPE) == "attestation-manifest"
    ) or (isinstance(platform, dict) and platform.get("os") == "unknown")


def _platform(entry: dict[str, Any]) -> str | None:
    platform = entry.get("platform")
    if not isinstance(platform, dict) or "os" not in platform:
        return None
    text = f"{platform.get('os')}/{platform.get('architecture')}"
    variant = platform.get("variant")
    return f"{text}/{variant}" if variant else text


def _descriptor(entry: Any) -> Descriptor:
    digest, size = entry["digest"], entry["size"]
    if not isinstance(digest, str) or not isinstance(size, int) or size < 0:
        raise ValueError("a descriptor needs a digest and a size")
    return Descriptor(str(entry.get("mediaType", "")), digest, size)


def _json(body: bytes, name: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise BuildError(f"{printable(name)}: a manifest or config that is not JSON") from None
    if not isinstance(document, dict):
        raise BuildError(f"{printable(name)}: a manifest or config that is not a JSON object")
    return document


def _base(
    base_image: str | None, store: Store, cache: MeasureCache, platform: str | None
) -> tuple[str | None, tuple[str, ...]]:
    """The base image's ID and diff_ids: from the same layout when it has a tag of that
    name, from its registry or layout when it is such a reference, else the engine's."""
    if base_image is None or base_image == "scratch":
        return None, ()
    try:
        if isinstance(store, LayoutStore) and store.has_tag(base_image):
            base_store: Store = store.tagged(base_image)
        elif not is_engine_reference(base_image):
            base_store = open_store(base_image)
        else:
            return measuring._base(base_image.removeprefix(DOCKER_PREFIX))
        layers, config_digest, _ = resolve(base_store, cache, platform)
    except (BuildError, UsageError) as exc:
        warn(
            f"slim: note: cannot read base image {printable(base_image)} ({exc});"
            " its layers are counted as the image's own"
        )
        return None, ()
    return config_digest, tuple(diff_id for _, diff_id in layers)


# --- The two stores ------------------------------------------------------------------


def _names(ref_name: str, tag: str) -> bool:
    """Whether a layout's ref.name annotation names `tag`: itself (the OCI way), or the
    tail of a full name buildx writes (v1 or acme/app:v1 of docker.io/acme/app:v1)."""
    return ref_name == tag or ref_name.endswith((f"/{tag}", f":{tag}"))


class RegistryStore:
    def __init__(self, reference: Reference, registry: Registry | None = None) -> None:
        self.reference = reference
        self.registry = registry or Registry(reference.host)
        self.name = str(reference)

    def top(self) -> tuple[bytes, str]:
        return self.registry.manifest(self.reference.repository, self.reference.reference)

    def manifest(self, digest: str) -> bytes:
        return self.registry.manifest(self.reference.repository, digest)[0]

    def document(self, digest: str) -> bytes:
        return self.registry.blob_bytes(self.reference.repository, digest)

    def open_blob(self, layer: Descriptor) -> BlobReader:
        return self.registry.open_blob(self.reference.repository, layer.digest, layer.size)


class LayoutStore:
    """An OCI image layout directory: index.json and blobs/sha256/<hex>. `blob_reads`
    counts the layer blobs opened."""

    def __init__(self, directory: Path, tag: str | None, name: str) -> None:
        self.directory = directory
        self.tag = tag
        self.name = name
        self.blob_reads = 0

    @classmethod
    def open(cls, ref: str) -> LayoutStore:
        """oci:DIR or oci:DIR:TAG; DIR is the longest prefix that is a layout, so that
        both DIR and TAG may hold colons (oci:./out:acme/app:v1)."""
        rest = ref[len(OCI_PREFIX) :]
        directory, tag = rest, None
        cuts = [i for i, c in enumerate(rest) if c == ":"]
        if not (Path(rest) / "index.json").is_file() and cuts:
            at = next(
                (i for i in reversed(cuts) if (Path(rest[:i]) / "index.json").is_file()), None
            )
            directory, tag = (rest[:at], rest[at + 1 :]) if at is not None else rest.rsplit(":", 1)
        if not directory:
            raise UsageError(
                f"{printable(ref)}: name a directory, e.g. oci:./image or oci:./image:v1"
            )
        path = Path(directory)
        if not (path / "index.json").is_file():
            raise BuildError(
                f"{printable(ref)}: {printable(directory)} is not an OCI image layout"
                " (no index.json)"
            )
        return cls(path, tag or None, ref)

    def tagged(self, tag: str) -> LayoutStore:
        return LayoutStore(self.directory, tag, f"{OCI_PREFIX}{self.directory}:{tag}")

    def has_tag(self, tag: str) -> bool:
        return self._tagged_entry(tag, quiet=True) is not None

    def top(self) -> tuple[bytes, str]:
        index = self._read(self.directory / "index.json", "index.json")
        if self.tag is None:
            return index, ""
        entry = self._tagged_entry(self.tag, quiet=False)
        assert entry is not None
        return self.manifest(entry.digest), entry.media_type

    def _tagged_entry(self, tag: str, *, quiet: bool) -> Descriptor | None:
        try:
            index = _json(self._read(self.directory / "index.json", "index.json"), self.name)
        except BuildError:
            if quiet:
                return None
            raise
        listed = index.get("manifests")
        entries: list[Any] = listed if isinstance(listed, list) else []
        names = []
        for entry in entries:
            annotations = entry.get("annotations") if isinstance(entry, dict) else None
            ref_name = annotations.get(REF_NAME) if isinstance(annotations, dict) else None
            if isinstance(ref_name, str):
                names.append(ref_name)
                # buildx writes the full name (repo:tag) or the tag alone, as asked
                if _names(ref_name, tag):
                    try:
                        return _descriptor(entry)
                    except (KeyError, TypeError, ValueError):
                        break
        if quiet:
            return None
        raise BuildError(
            f"{printable(self.name)}: no image tagged {printable(tag)} in its index.json"
            f" (tags: {printable(', '.join(names)) or 'none'})"
        )

    def manifest(self, digest: str) -> bytes:
        return self.document(digest)

    def document(self, digest: str) -> bytes:
        body = self._read(self._blob(digest), digest)
        check_digest(body, digest, f"{self.name} blob {digest}")
        return body

    def open_blob(self, layer: Descriptor) -> BlobReader:
        path = self._blob(layer.digest)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - BlobReader closes it
        except OSError as exc:
            raise BuildError(
                f"{printable(self.name)}: cannot read blob {layer.digest} ({exc.strerror})"
            ) from None
        self.blob_reads += 1
        return BlobReader(handle, layer.digest, layer.size, f"{self.name} blob {layer.digest}")

    def _blob(self, digest: str) -> Path:
        algorithm, _, value = digest.partition(":")
        if (
            algorithm != "sha256"
            or len(value) != 64
            or not all(c in "0123456789abcdef" for c in value)
        ):
            raise BuildError(f"{printable(self.name)}: unsupported digest {printable(digest)}")
        return self.directory / "blobs" / algorithm / value

    def _read(self, path: Path, what: str) -> bytes:
        try:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size > MAX_DOCUMENT:
                    raise BuildError(
                        f"{printable(self.name)}: {what} is {size:,} bytes, more"
                        f" than a manifest or config may be ({MAX_DOCUMENT:,})"
                    )
                return handle.read(MAX_DOCUMENT + 1)
        except OSError as exc:
            raise BuildError(
                f"{printable(self.name)}: cannot read {printable(what)} ({exc.strerror})"
            ) from None
