"""Measure an image from its layers, the same way whatever the engine's image store.

The engine's own `.Size` changes meaning with the containerd image store (compressed
blobs there, unpacked content in the classic store), so slim computes every figure
itself from the layer tars that `docker save` streams:

- size: bytes of regular-file content over all layers (a hard link counts once, as
  it is one file): what the classic store's `docker images` shows, 17,808 B for the
  static musl binary on scratch. The classic store adds the length of each symlink's
  target for some layers (those it unpacks natively, e.g. imported or pulled ones) and
  not for others (those BuildKit writes): slim does not, so that a figure depends on
  the files alone;
- compressed: the layers as a registry stores them. A layer `docker save` writes as a
  compressed blob (gzip or zstd: the containerd image store keeps layers as they were
  built, pulled or imported, and exports them as they are) counts with that blob's size,
  what a push from that store uploads: nothing is compressed. An uncompressed layer tar
  (the classic store's) is gzip'd at level
  GZIP_LEVEL (the default level of gzip and of Go's compress/gzip) with zlib-ng. A
  registry stores what the pusher's gzip made, and BuildKit compresses with Go's
  compress/gzip at its default level: zlib-ng's size is within 0.05% (the 332 MB
  toolchain layer) to 0.7% (debian-slim) of Go's, where zlib and GNU gzip are 2-3%
  smaller than both, and it is 3-5 times as fast as zlib. A layer over one GZIP_CHUNK
  is compressed pigz-style in threads (zlib-ng releases the GIL): independent deflate
  chunks, each primed with the 32 KiB before it and ended by a sync flush, whose sizes
  add up to within GZIP_TOLERANCE of one stream's (a layer of one chunk is exactly one
  stream's);
- per layer: its diff_id, size, compressed size, the instruction that created it
  (from the image config's history) and whether it is one of the base image's layers;
- files: the regular files of the layers the build added (not the base's);
- entries (asked for by content assertions only): every entry of every layer, base
  included, with its type, mode and owner, whiteouts as written (contents.py merges
  them into the image's final filesystem).

Layers are content-addressed, so what was measured once is kept in a cache folder
(SLIM_CACHE_DIR, else $XDG_CACHE_HOME/slim-bake, else ~/.cache/slim-bake) by diff_id
and by image ID: an unchanged image is not exported again, and a base layer is
compressed once, not once per variant. A compressed blob's digest is kept with its
diff_id, so that a known layer is skipped unread in either store; an image's entry keeps
which of its figures are blob sizes (a layer's gzip estimate is the same in every store,
its blob size is not)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

from slim_bake.cachedir import cache_dir
from slim_bake.errors import BuildError
from slim_bake.safe_text import warn

GZIP_LEVEL = 6
GZIP_CHUNK = 1 << 20  # bytes of layer tar per independently compressed deflate chunk
GZIP_TOLERANCE = 0.005  # the chunked size stays this close to one gzip stream's (stated)
_WINDOW = 32 << 10  # deflate's window: what a chunk's dictionary needs of the one before
_GZIP_FRAME = 18  # gzip's header (no name, as `gzip -c` of a pipe) and trailer
_MAX_WORKERS = 16  # compression threads: at most 2 MiB each in flight, whatever the cores
CACHE_VERSION = 3  # 3: entries per layer; 2: compressed by zlib-ng (1: by zlib)
# What a Measurement's compressed figures are (Measurement.compression):
ESTIMATED = "gzip"  # every layer slim's gzip estimate at GZIP_LEVEL
STORED = "blobs"  # every layer its compressed blob's size, as stored (Measurement.store)
MIXED = "mixed"  # blob sizes for the layers stored compressed, the estimate for the rest
ENGINE_STORE = "containerd image store"  # the only store whose `docker save` has such blobs
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 20
_WHITEOUT = ".wh."
_KEY_PEEK = 64 << 10  # regular files this small are peeked at for a private key header
_KEY_HEAD = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


@dataclass(frozen=True)
class Layer:
    diff_id: str
    size: int
    compressed: int
    created_by: str
    from_base: bool


@dataclass(frozen=True)
class FileInfo:
    path: str  # absolute, e.g. /usr/local/bin/hello
    size: int
    layer: int  # index into Measurement.layers


@dataclass(frozen=True)
class Entry:
    """One member of a layer tar, as the image's filesystem gets it."""

    path: str  # absolute; a whiteout keeps its .wh. name
    kind: str  # file, dir, symlink, hardlink or other (devices, fifos)
    size: int
    mode: int  # permission bits with setuid/setgid/sticky
    uid: int
    gid: int
    link: str = ""  # a symlink's target as written; a hard link's target, absolute
    key: bool = False  # a small regular file whose content holds a PEM private key


@dataclass(frozen=True)
class Measurement:
    image: str
    image_id: str
    base_image: str | None
    base_id: str | None
    size: int
    compressed: int
    layers: tuple[Layer, ...]
    files: tuple[FileInfo, ...]  # regular files of the non-base layers, in layer order
    # Only when measured with contents=True: every layer's entries, base included.
    entries: tuple[tuple[Entry, ...], ...] = ()
    image_config: dict[str, Any] = field(default_factory=dict)  # the image's Config
    # in-toto predicate types of the attestations beside it (registry / OCI output only)
    attestations: tuple[str, ...] = ()
    compression: str = ESTIMATED  # what `compressed` is: ESTIMATED, STORED or MIXED
    store: str = ""  # where the stored blob sizes were read (STORED, MIXED)

    @property
    def base_layers(self) -> int:
        return sum(1 for layer in self.layers if layer.from_base)


@dataclass(frozen=True)
class LayerStats:
    """What one layer tar holds, independent of the image it is in."""

    diff_id: str
    size: int
    compressed: int | None  # slim's gzip estimate; None: not made (a blob's size says it)
    files: tuple[tuple[str, int], ...]  # regular files (path, bytes), in tar order
    entries: tuple[Entry, ...] = ()  # every member, in tar order (when loaded)


@dataclass(frozen=True)
class Blob:
    """A layer as the archive holds it."""

    digest: str  # sha256:… of blobs/sha256/…; a classic layout's member name (…/layer.tar)
    size: int  # bytes in the archive: a compressed blob's is what a push uploads
    compressed: bool | None  # gzip or zstd; None: skipped unread (`known`)


@dataclass(frozen=True)
class Archive:
    """What `docker save` wrote: the image config and its layers in order."""

    config: dict[str, Any]
    diff_ids: tuple[str, ...]
    stats: dict[str, LayerStats]  # by diff_id; layers skipped as already known are absent
    blobs: dict[str, Blob] = field(default_factory=dict)  # by diff_id

    def stored_size(self, diff_id: str) -> int | None:
        """The layer's blob size when it was read as a compressed blob, else None."""
        blob = self.blobs.get(diff_id)
        return blob.size if blob is not None and blob.compressed else None


# --- Reading a `docker save` tar (classic layout or OCI layout) ----------------------


def read_archive(stream: IO[bytes], known: Callable[[str], bool] = lambda _: False) -> Archive:
    """Parse an image archive in one pass, measuring every layer tar in it.

    Both layouts are read: the classic one (manifest.json, <id>/layer.tar, <id>.json)
    and the OCI one that docker 25+ writes (index.json, blobs/sha256/<digest>, plus a
    manifest.json for compatibility). Blobs named by a digest for which `known` is
    true are skipped unread (an uncompressed layer blob's digest is its diff_id; a
    compressed one's is not). A layer stored compressed (gzip or zstd, as the
    containerd image store exports its layers) gets no gzip estimate: its blob's size
    is its compressed figure (Archive.blobs)."""
    jsons: dict[str, Any] = {}
    by_name: dict[str, LayerStats] = {}
    links: dict[str, str] = {}
    blobs: dict[str, Blob] = {}
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                _read_member(tar, member, known, jsons, by_name, links, blobs)
        return _resolve(jsons, by_name, links, known, blobs)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BuildError(f"cannot read the image archive: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:  # JSON that is not what docker writes
        raise BuildError(f"the image archive is malformed: {type(exc).__name__}: {exc}") from exc


def _read_member(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    known: Callable[[str], bool],
    jsons: dict[str, Any],
    by_name: dict[str, LayerStats],
    links: dict[str, str],
    blobs: dict[str, Blob],
) -> None:
    name = _normal(member.name)
    if member.issym() or member.islnk():
        # docker 25+ links <id>/layer.tar to its blob; resolve relative to the link.
        base = PurePosixPath(name).parent if member.issym() else PurePosixPath()
        links[name] = _normal(str(base / member.linkname))
        return
    if not member.isfile():
        return
    if name.startswith("blobs/") and known(_blob_digest(name)):
        blobs[name] = Blob(_blob_digest(name), member.size, None)
        return
    handle = tar.extractfile(member)
    if handle is None:
        return
    head = cast(io.BufferedReader, handle).peek(4)[:4]  # tarfile's ExFileObject is one
    if name.endswith(".json") or (head[:1] in (b"{", b"[") and member.size < 16 << 20):
        jsons[name] = json.loads(handle.read())
    elif name.endswith("layer.tar") or name.startswith("blobs/"):
        packed = head.startswith((_GZIP_MAGIC, _ZSTD_MAGIC))
        # A stored blob's size is the figure: compressing its content again (most of
        # the cost) would only estimate what is known.
        by_name[name] = measure_layer(handle, estimate=not packed)
        digest = _blob_digest(name) if name.startswith("blobs/") else name
        blobs[name] = Blob(digest, member.size, packed)


def _normal(name: str) -> str:
    parts = [p for p in PurePosixPath(name).parts if p not in (".", "/")]
    resolved: list[str] = []
    for part in parts:
        if part == "..":
            if resolved:
                resolved.pop()
        else:
            resolved.append(part)
    return "/".join(resolved)


def _blob_digest(name: str) -> str:
    parts = name.split("/")
    return f"{parts[1]}:{parts[2]}" if len(parts) == 3 else name


def _resolve(
    jsons: dict[str, Any],
    by_name: dict[str, LayerStats],
    links: dict[str, str],
    known: Callable[[str], bool],
    blobs: dict[str, Blob],
) -> Archive:
    config_name, layer_names = _manifest(jsons)
    config = jsons.get(config_name)
    if not isinstance(config, dict):
        raise BuildError(f"the image archive has no config {config_name}")
    diff_ids = tuple(str(d) for d in config.get("rootfs", {}).get("diff_ids", []))
    if len(diff_ids) != len(layer_names):
        raise BuildError(
            f"the image archive lists {len(layer_names)} layers, its config {len(diff_ids)}"
        )
    stats: dict[str, LayerStats] = {}
    stored: dict[str, Blob] = {}
    for diff_id, layer_name in zip(diff_ids, layer_names, strict=True):
        member = links.get(layer_name, layer_name)
        if member in blobs:
            stored[diff_id] = blobs[member]
        found = by_name.get(member)
        if found is None:
            if member.startswith("blobs/") and known(_blob_digest(member)):
                continue  # skipped unread: measured before
            raise BuildError(f"the image archive lacks layer {layer_name}")
        if found.diff_id != diff_id:
            raise BuildError(
                f"layer {layer_name}: content is {found.diff_id}, config says {diff_id}"
            )
        stats[diff_id] = found
    return Archive(config, diff_ids, stats, stored)


def _manifest(jsons: dict[str, Any]) -> tuple[str, list[str]]:
    """(config member name, layer member names) from manifest.json, else index.json."""
    manifest = jsons.get("manifest.json")
    if isinstance(manifest, list) and manifest:
        entry = manifest[0]
        return _normal(entry["Config"]), [_normal(n) for n in entry["Layers"]]
    index = jsons.get("index.json")
    if not isinstance(index, dict):
        raise BuildError("the image archive has neither manifest.json nor index.json")
    descriptor = _image_manifest(jsons, index)
    layers = [_blob_name(layer["digest"]) for layer in descriptor.get("layers", [])]
    return _blob_name(descriptor["config"]["digest"]), layers


def _image_manifest(jsons: dict[str, Any], index: dict[str, Any]) -> dict[str, Any]:
    """Follow an OCI index (possibly nested) to the first image manifest in it."""
    for entry in index.get("manifests", []):
        blob = jsons.get(_blob_name(entry["digest"]))
        if not isinstance(blob, dict):
            continue
        if "manifests" in blob:
            return _image_manifest(jsons, blob)
        if "config" in blob:
            return blob
    raise BuildError("the image archive's index.json names no image manifest")


def _blob_name(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    return f"blobs/{algorithm}/{value}"


# --- One layer tar --------------------------------------------------------------------


def measure_layer(raw: IO[bytes], *, estimate: bool = True) -> LayerStats:
    """Size, gzip'd size, diff_id and regular files of one layer tar (plain or gzip'd).
    `estimate` False: no gzip size (compressing is most of the cost) where the caller
    knows the compressed size already, as a registry's or an OCI layout's blob size."""
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(Any, raw))
    head = buffered.peek(4)[:4]
    source: IO[bytes] = buffered
    if head.startswith(_GZIP_MAGIC):
        source = cast(IO[bytes], gzip.GzipFile(fileobj=buffered, mode="rb"))  # several members too
    elif head.startswith(_ZSTD_MAGIC):
        source = _unzstd(buffered)
    tee = _Tee(source, GzipSize() if estimate else None)
    size = 0
    files: list[tuple[str, int]] = []
    entries: list[Entry] = []
    try:
        with tarfile.open(fileobj=tee, mode="r|") as tar:
            for member in tar:
                path = "/" + _normal(member.name)
                entries.append(_entry(tar, member, path))
                if member.isfile() and not PurePosixPath(path).name.startswith(_WHITEOUT):
                    size += member.size
                    files.append((path, member.size))
        tee.drain()  # the end-of-archive padding belongs to the diff_id and the gzip size
        return LayerStats(tee.digest(), size, tee.compressed(), tuple(files), tuple(entries))
    finally:
        tee.close()  # a layer that failed to read leaves no compression running


def _entry(tar: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> Entry:
    kind = (
        "file"
        if member.isfile()
        else "dir"
        if member.isdir()
        else "symlink"
        if member.issym()
        else "hardlink"
        if member.islnk()
        else "other"
    )
    link = (
        member.linkname
        if member.issym()
        else "/" + _normal(member.linkname)
        if kind == "hardlink"
        else ""
    )
    key = False
    if kind == "file" and 0 < member.size <= _KEY_PEEK:
        # The layer streams past anyway: reading a small file's bytes costs no extra I/O.
        handle = tar.extractfile(member)
        key = handle is not None and _KEY_HEAD.search(handle.read()) is not None
    return Entry(path, kind, member.size, member.mode, member.uid, member.gid, link, key)


def _unzstd(source: IO[bytes]) -> IO[bytes]:
    """A zstd layer (the containerd image store keeps imported .tar.zst layers as they are)."""
    try:
        import zstandard
    except ImportError as exc:
        raise BuildError(
            "a layer is zstd-compressed: install the zstandard package to measure it"
            " (pip install 'slim-bake[bake]')"
        ) from exc
    reader: IO[bytes] = zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True)
    return reader


def _buffered(raw: io.RawIOBase) -> IO[bytes]:
    return io.BufferedReader(raw, _CHUNK)


class _Tee(io.RawIOBase):
    """Pass bytes through while hashing them (diff_id) and counting their gzip size."""

    def __init__(self, source: IO[bytes], gzip_size: GzipSize | None) -> None:
        self._source = source
        self._sha = hashlib.sha256()
        self._gzip = gzip_size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._source.read(len(view))
        if data:
            view[: len(data)] = data
            self._sha.update(data)
            if self._gzip is not None:
                self._gzip.update(data)
        return len(data)

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass

    def digest(self) -> str:
        return f"sha256:{self._sha.hexdigest()}"

    def compressed(self) -> int | None:
        return self._gzip.total() if self._gzip is not None else None

    def close(self) -> None:
        if self._gzip is not None:
            self._gzip.close()
        super().close()


class GzipSize:
    """The gzip'd size of a stream fed in pieces, its chunks compressed in parallel.

    Like pigz: each GZIP_CHUNK is a raw deflate stream primed with the 32 KiB before it
    (so matches reach across the seam) and ended by a sync flush (a few bytes), the last
    one finished; the sizes add up with gzip's frame. Up to two chunks per worker are in
    flight, so memory stays bounded whatever the layer's size. A stream of one chunk is
    compressed whole in the caller's thread: exactly one gzip stream's size."""

    def __init__(self, workers: int | None = None) -> None:
        self._zng = _zlib_ng()  # missing: fail before reading, not in a worker
        self._workers = workers or min(_cpus(), _MAX_WORKERS)
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future[int]] = deque()
        self._buffer = bytearray()
        self._window = b""
        self._size = 0

    def update(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) > GZIP_CHUNK:  # more follows: this chunk is not the last
            chunk = bytes(self._buffer[:GZIP_CHUNK])
            del self._buffer[:GZIP_CHUNK]
            self._submit(chunk, last=False)

    def total(self) -> int:
        """The gzip'd size of everything fed (call once, at the end)."""
        chunk, self._buffer = bytes(self._buffer), bytearray()
        if self._pool is None:
            return _GZIP_FRAME + _deflate_size(self._zng, chunk, b"", True)
        self._submit(chunk, last=True)
        while self._pending:
            self._size += self._pending.popleft().result()
        self.close()
        return _GZIP_FRAME + self._size

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _submit(self, chunk: bytes, *, last: bool) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="slim-gzip")
        job = self._pool.submit(_deflate_size, self._zng, chunk, self._window, last)
        self._pending.append(job)
        self._window = chunk[-_WINDOW:]
        while len(self._pending) > 2 * self._workers:
            self._size += self._pending.popleft().result()


def _deflate_size(zng: Any, chunk: bytes, window: bytes, last: bool) -> int:
    """Raw deflate size of one chunk at GZIP_LEVEL, primed with the bytes before it."""
    deflate = (
        zng.compressobj(GZIP_LEVEL, zng.DEFLATED, -15, zdict=window)
        if window
        else zng.compressobj(GZIP_LEVEL, zng.DEFLATED, -15)
    )
    size = len(deflate.compress(chunk))
    return size + len(deflate.flush(zng.Z_FINISH if last else zng.Z_SYNC_FLUSH))


def _zlib_ng() -> Any:
    try:
        from zlib_ng import zlib_ng
    except ImportError as exc:
        raise BuildError(
            "measuring compresses with zlib-ng: install the zlib-ng package"
            " (pip install 'slim-bake[bake]')"
        ) from exc
    return zlib_ng


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Chunks(io.RawIOBase):
    """A readable stream over an iterator of byte chunks (the docker SDK's save())."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


# --- The cache of measured layers and images ------------------------------------------


class MeasureCache:
    """Layer stats by diff_id, image layouts by image ID and compressed blobs' diff_ids
    by the blob's digest, as small JSON files. A missing, unreadable or foreign entry is
    a miss: the image is measured again."""

    def __init__(self, root: Path) -> None:
        self.root = root / f"measure-v{CACHE_VERSION}"

    def _path(self, kind: str, digest: str) -> Path:
        return self.root / kind / digest.replace(":", "-").replace("/", "_")

    def _load(self, kind: str, digest: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._path(kind, digest).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("digest") == digest else None

    def _store(self, kind: str, digest: str, data: dict[str, Any]) -> None:
        path = self._path(kind, digest)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"digest": digest, **data}, handle, separators=(",", ":"))
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:  # a read-only home must not fail the build
            warn(f"slim: note: cannot write the measurement cache {self.root}: {exc}")
        finally:  # interrupted, or failed: no half-written entry stays behind
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def has_layer(self, diff_id: str, *, estimate: bool = True) -> bool:
        """Known with everything `measure` needs: its gzip estimate too, unless the layer
        is stored compressed (`estimate` False: its blob's size is its figure)."""
        return self.layer(diff_id, with_files=False, estimate=estimate) is not None and all(
            self._path(k, diff_id).is_file() for k in ("files", "entries")
        )

    def knows(self, digest: str) -> bool:
        """Whether `docker save`'s blob `digest` need not be read: a compressed blob whose
        layer was read before (in any store), or an uncompressed one (its digest is its
        diff_id) known with its gzip estimate."""
        found = self.blob(digest)
        if found is not None:
            return self.has_layer(found, estimate=False)
        return self.has_layer(digest)

    def blob(self, digest: str) -> str | None:
        """The diff_id of the compressed blob `digest`, when slim read that blob."""
        return self._text("blobs", digest, "diff_id")

    def _text(self, kind: str, digest: str, name: str) -> str | None:
        """The string `name` of an entry; None when missing or not a string."""
        data = self._load(kind, digest)
        found = data.get(name) if data is not None else None
        return found if isinstance(found, str) else None

    def put_blob(self, digest: str, diff_id: str) -> None:
        self._store("blobs", digest, {"diff_id": diff_id})

    def layer(
        self,
        diff_id: str,
        with_files: bool = True,
        with_entries: bool = False,
        *,
        estimate: bool = True,
    ) -> LayerStats | None:
        """A layer's stats; its file list and its entries (large for a base image) only
        when asked for; with its gzip estimate unless `estimate` is False (a layer read
        from a registry or an OCI layout has none: for `measure` it is a miss)."""
        data = self._load("layers", diff_id)
        if data is not None and estimate and data.get("compressed") is None:
            return None
        listing = self._load("files", diff_id) if with_files else {"files": []}
        members = self._load("entries", diff_id) if with_entries else {"entries": []}
        if data is None or listing is None or members is None:
            return None
        try:
            files = tuple((str(p), int(n)) for p, n in listing["files"])
            entries = tuple(_entry_from(e) for e in members["entries"])
            made = data.get("compressed")
            compressed = None if made is None else int(made)
            return LayerStats(diff_id, int(data["size"]), compressed, files, entries)
        except (KeyError, TypeError, ValueError):
            return None

    def put_layer(self, stats: LayerStats) -> None:
        self._store("files", stats.diff_id, {"files": stats.files})
        rows = [
            [e.path, e.kind, e.size, e.mode, e.uid, e.gid, e.link, e.key] for e in stats.entries
        ]
        self._store("entries", stats.diff_id, {"entries": rows})
        if stats.compressed is None and self.layer(stats.diff_id, with_files=False) is not None:
            return  # the entry with an estimate stays: it serves `measure` too
        self._store("layers", stats.diff_id, {"size": stats.size, "compressed": stats.compressed})

    def image(self, image_id: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """(diff_ids, created_by of each layer) of a measured image."""
        data = self._load("images", image_id)
        if data is None:
            return None
        diff_ids, created_by = data.get("diff_ids"), data.get("created_by")
        if not isinstance(diff_ids, list) or not isinstance(created_by, list):
            return None
        return tuple(map(str, diff_ids)), tuple(map(str, created_by))

    def put_image(
        self,
        image_id: str,
        diff_ids: tuple[str, ...],
        created_by: tuple[str, ...],
        stored: tuple[int | None, ...] | None = None,
    ) -> None:
        """`stored`: each layer's blob size where that is its compressed figure, None
        where it is the gzip estimate (what `measure` writes; a manifest says it itself)."""
        data: dict[str, Any] = {"diff_ids": diff_ids, "created_by": created_by}
        if stored is not None:
            data["stored"] = stored
        self._store("images", image_id, data)

    def same_content(self, content: str) -> str | None:
        """The image ID last measured with this _content_key, if any."""
        return self._text("contents", content, "image_id")

    def put_same_content(self, content: str, image_id: str) -> None:
        self._store("contents", content, {"image_id": image_id})

    def image_stored(self, image_id: str) -> tuple[int | None, ...] | None:
        """Each layer's stored blob size (None: estimated) as `measure` found it; None
        when no `measure` wrote the entry (an older slim, or a manifest's reader)."""
        data = self._load("images", image_id)
        found = data.get("stored") if data is not None else None
        if not isinstance(found, list) or not all(
            n is None or (isinstance(n, int) and n >= 0) for n in found
        ):
            return None
        return tuple(found)

    def image_config(self, image_id: str) -> dict[str, Any] | None:
        """The `config` part (user, entrypoint, ports, labels) of a measured image's config."""
        data = self._load("configs", image_id)
        found = data.get("config") if data is not None else None
        return found if isinstance(found, dict) else None

    def put_image_config(self, image_id: str, config: dict[str, Any]) -> None:
        self._store("configs", image_id, {"config": config})


def _entry_from(row: Any) -> Entry:
    path, kind, size, mode, uid, gid, link, key = row
    return Entry(
        str(path), str(kind), int(size), int(mode), int(uid), int(gid), str(link), bool(key)
    )


# --- Measuring an image in the engine ---------------------------------------------------


def measure(
    image: str,
    base_image: str | None,
    *,
    cache: MeasureCache | None = None,
    contents: bool = False,
) -> Measurement:
    """Measure `image` (a local tag or ID); `base_image` is the FROM of its runtime stage
    (None or "scratch": no base). `contents`: also every layer's entries, for content
    assertions. Raises BuildError when the image cannot be measured."""
    from slim_bake.engine import client

    cache = cache or MeasureCache(cache_dir())
    found = _get_image(client(), image)
    base_id, base_diff_ids = _base(base_image)
    key, content = found.id, None
    layout = cache.image(key)
    if layout is None:  # a new ID, but perhaps the same image (see _content_key)
        content = _content_key(found)
        earlier = cache.same_content(content) if content else None
        layout = cache.image(earlier) if earlier else None
        key = earlier if earlier and layout is not None else key
    write = key != found.id  # the entry under this ID: written unless it was read
    stored = cache.image_stored(key) if layout else None
    stats = None
    if layout is not None and stored is not None and len(stored) == len(layout[0]):
        stats = _cached(cache, layout[0], base_diff_ids, stored, contents)
    if layout is None or stored is None or stats is None:
        write = True
        archive = _export(found, image, cache)
        layout = archive.diff_ids, created_by(archive.config)
        stored = _stored_sizes(archive, cache)
        stats = {
            d: archive.stats.get(d) or cache.layer(d, with_entries=contents, estimate=size is None)
            for d, size in zip(archive.diff_ids, stored, strict=True)
        }
        if None in stats.values():
            raise BuildError(f"cannot measure {image}: a cached layer vanished; run again")
    if write:
        cache.put_image(found.id, *layout, stored)
    if content is not None:
        cache.put_same_content(content, found.id)
    stats = _with_stored(stats, layout[0], stored)
    if base_diff_ids and not _shared(layout[0], base_diff_ids):
        warn(
            f"slim: note: {image} does not start with the layers of {base_image} as the local"
            " image store has it (a newer or other base?): all its layers count as the build's"
        )
    measured = _assemble(image, found.id, base_image, base_id, base_diff_ids, layout, stats)
    config = found.attrs.get("Config") or {}
    entries = tuple(s.entries for s in map(stats.get, layout[0]) if s) if contents else ()
    kind = compression_kind(stored)
    store = ENGINE_STORE if kind != ESTIMATED else ""
    return replace(measured, entries=entries, image_config=config, compression=kind, store=store)


def _content_key(found: Any) -> str | None:
    """A digest of what an image is — its layers, config, creation time, platform and
    each history entry's instruction, in this engine and store — without its ID. The
    containerd store's image ID is the digest of the index, which holds the build's
    provenance attestation with its start and end times: every warm rebuild gets a new
    ID for the same image, which would otherwise be exported and read again (4–6 s for
    a 332 MB toolchain image)."""
    import docker

    from slim_bake.engine import engine_host

    attrs = found.attrs
    try:
        history = [str(entry.get("CreatedBy", "")) for entry in found.history()]
    except docker.errors.DockerException:
        return None
    what = {
        # The store too: its compressed figures are blob sizes or estimates.
        "store": [engine_host(), (attrs.get("GraphDriver") or {}).get("Name")],
        "layers": (attrs.get("RootFS") or {}).get("Layers"),
        "config": attrs.get("Config"),
        "created": attrs.get("Created"),
        "platform": [attrs.get("Os"), attrs.get("Architecture"), attrs.get("Variant")],
        "history": history,
    }
    text = json.dumps(what, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def compression_kind(stored: Iterable[int | None]) -> str:
    """ESTIMATED, STORED or MIXED for layers whose stored blob sizes are `stored`."""
    known = {size is not None for size in stored}
    return STORED if known == {True} else MIXED if known == {True, False} else ESTIMATED


def _stored_sizes(archive: Archive, cache: MeasureCache) -> tuple[int | None, ...]:
    """Each layer's compressed blob size, None for a layer tar (estimated). A blob
    skipped unread is compressed when the cache knows it by its blob digest."""
    sizes: list[int | None] = []
    for diff_id in archive.diff_ids:
        blob = archive.blobs.get(diff_id)
        if blob is not None and blob.compressed is None:  # skipped as known
            read_as = cache.blob(blob.digest)
            if read_as is not None and read_as != diff_id:
                raise BuildError(
                    f"the measurement cache says blob {blob.digest} holds {read_as}, the"
                    f" image's config says {diff_id}: remove {cache.root} and run again"
                )
            sizes.append(blob.size if read_as is not None else None)
        else:
            sizes.append(archive.stored_size(diff_id))
    return tuple(sizes)


def _with_stored(
    stats: dict[str, LayerStats | None],
    diff_ids: tuple[str, ...],
    stored: tuple[int | None, ...],
) -> dict[str, LayerStats | None]:
    """The stats with each stored blob's size as the layer's compressed figure."""
    found = dict(stats)
    for diff_id, size in zip(diff_ids, stored, strict=True):
        layer_stats = found.get(diff_id)
        if size is not None and layer_stats is not None:
            found[diff_id] = replace(layer_stats, compressed=size)
    return found


def _cached(
    cache: MeasureCache,
    diff_ids: tuple[str, ...],
    base_diff_ids: tuple[str, ...],
    stored: tuple[int | None, ...],
    contents: bool = False,
) -> dict[str, LayerStats | None] | None:
    """Every layer's stats from the cache (file lists for the build's own layers only,
    entries for all when `contents`; the gzip estimate where no blob size is the
    figure), or None when one is missing."""
    shared = _shared(diff_ids, base_diff_ids)
    stats = {
        d: cache.layer(d, with_files=i >= shared, with_entries=contents, estimate=stored[i] is None)
        for i, d in enumerate(diff_ids)
    }
    return None if None in stats.values() else stats


def _shared(diff_ids: tuple[str, ...], base_diff_ids: tuple[str, ...]) -> int:
    """How many leading layers are the base image's: all of the base's, or none."""
    count = len(base_diff_ids)
    return count if diff_ids[:count] == base_diff_ids else 0


def _get_image(engine: Any, image: str) -> Any:
    import docker

    try:
        return engine.images.get(image)
    except docker.errors.ImageNotFound as exc:
        raise BuildError(f"image {image} is not in the engine's image store") from exc
    except docker.errors.APIError as exc:
        raise BuildError(f"cannot inspect image {image}: {exc.explanation or exc}") from exc


def _export(found: Any, image: str, cache: MeasureCache) -> Archive:
    import docker

    try:
        stream = _buffered(_Chunks(found.save(chunk_size=_CHUNK)))
        archive = read_archive(stream, known=cache.knows)
    except docker.errors.DockerException as exc:
        raise BuildError(f"cannot export {image} to measure it: {exc}") from exc
    except BuildError as exc:
        raise BuildError(f"cannot measure {image}: {exc}") from exc
    for layer_stats in archive.stats.values():
        cache.put_layer(layer_stats)
    for diff_id, blob in archive.blobs.items():
        if blob.compressed:  # after its layer: a blob entry means the layer is there
            cache.put_blob(blob.digest, diff_id)
    return archive


def created_by(config: dict[str, Any]) -> tuple[str, ...]:
    """The instruction behind each layer: the config's history without its empty layers."""
    history = [h for h in config.get("history", []) if not h.get("empty_layer", False)]
    count = len(config.get("rootfs", {}).get("diff_ids", []))
    made = [str(h.get("created_by", "")) for h in history]
    if len(made) != count:  # a hand-made image without (matching) history
        made = ["" for _ in range(count)]
    return tuple(made)


def _base(base_image: str | None) -> tuple[str | None, tuple[str, ...]]:
    """The base image's ID and diff_ids, looked up locally (pulled if absent)."""
    if base_image is None or base_image == "scratch":
        return None, ()
    import docker

    from slim_bake.engine import client

    engine = client()
    try:
        found = engine.images.get(base_image)
    except docker.errors.ImageNotFound:
        try:
            found = engine.images.pull(base_image)
        except docker.errors.DockerException as exc:
            warn(
                f"slim: note: base image {base_image} is not in the local image store and"
                f" cannot be pulled ({exc}); its layers are counted as the build's own"
            )
            return None, ()
    except docker.errors.APIError as exc:
        raise BuildError(f"cannot inspect base image {base_image}: {exc}") from exc
    return str(found.id), tuple(found.attrs.get("RootFS", {}).get("Layers", []))


def _compressed(stats: LayerStats) -> int:
    if stats.compressed is None:  # a caller that measured without estimating sets it
        raise BuildError(f"layer {stats.diff_id}: no compressed size (a bug in slim)")
    return stats.compressed


def _assemble(
    image: str,
    image_id: str,
    base_image: str | None,
    base_id: str | None,
    base_diff_ids: tuple[str, ...],
    layout: tuple[tuple[str, ...], tuple[str, ...]],
    stats: dict[str, LayerStats | None],
) -> Measurement:
    diff_ids, made_by = layout
    shared = _shared(diff_ids, base_diff_ids)
    layers: list[Layer] = []
    files: list[FileInfo] = []
    for index, (diff_id, instruction) in enumerate(zip(diff_ids, made_by, strict=True)):
        layer_stats = stats[diff_id]
        assert layer_stats is not None
        layers.append(
            Layer(diff_id, layer_stats.size, _compressed(layer_stats), instruction, index < shared)
        )
        if index >= shared:
            files += [FileInfo(path, size, index) for path, size in layer_stats.files]
    return Measurement(
        image=image,
        image_id=image_id,
        base_image=base_image,
        base_id=base_id,
        size=sum(layer.size for layer in layers),
        compressed=sum(layer.compressed for layer in layers),
        layers=tuple(layers),
        files=tuple(files),
    )
