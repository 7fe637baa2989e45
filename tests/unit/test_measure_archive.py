"""measure's reading of `docker save` archives, on archives built here (no engine):
the classic layout, docker 25+'s OCI layout with manifest.json and links, and a pure
OCI layout with gzip and zstd layer blobs."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import zstandard
from zlib_ng import zlib_ng

from slim_bake import measure
from slim_bake.errors import BuildError
from slim_bake.measure import (
    GZIP_CHUNK,
    GZIP_LEVEL,
    GZIP_TOLERANCE,
    GzipSize,
    MeasureCache,
    created_by,
    measure_layer,
    read_archive,
)


def _tar(add: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for item in add:
            if isinstance(item, tarfile.TarInfo):
                tar.addfile(item)
            else:
                name, data = item
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o755
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _entry(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


BINARY = bytes(range(256)) * 70  # 17,920 bytes that compress a little
LAYER_ONE = _tar(
    [
        _entry("etc", tarfile.DIRTYPE),
        ("etc/passwd", b"root:x:0:0:root:/root:/sbin/nologin\n"),
        ("etc/group", b"root:x:0:\n"),
        _entry("etc/hostname.link", tarfile.SYMTYPE, "/etc/passwd"),  # not content
    ]
)
LAYER_TWO = _tar(
    [
        ("usr/local/bin/hello", BINARY),
        _entry("usr/local/bin/hello-again", tarfile.LNKTYPE, "usr/local/bin/hello"),  # once
        ("etc/.wh.group", b""),  # a deletion marker, not a file
    ]
)
FILES_ONE = (("/etc/passwd", 36), ("/etc/group", 10))
FILES_TWO = (("/usr/local/bin/hello", len(BINARY)),)
HISTORY = [
    {"created_by": "COPY /rootfs/ / # buildkit"},
    {"created_by": "USER 65532:65532", "empty_layer": True},
    {"created_by": "COPY /out/hello /usr/local/bin/hello # buildkit"},
    {"created_by": 'ENTRYPOINT ["/usr/local/bin/hello"]', "empty_layer": True},
]


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _config() -> bytes:
    return json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [_digest(LAYER_ONE), _digest(LAYER_TWO)]},
            "history": HISTORY,
        }
    ).encode()


def _gzip_size(data: bytes) -> int:
    """One gzip stream at GZIP_LEVEL by zlib-ng, the deflate slim measures with (zlib's
    is 2-3% smaller than what BuildKit pushes, zlib-ng's within 1% of it)."""
    return len(zlib_ng.compress(data, GZIP_LEVEL, wbits=31))


def _check_layers(
    archive_bytes: bytes, skip: set[str] | None = None, stored: dict[bytes, bytes] | None = None
) -> None:
    """`stored`: layer → its compressed blob, whose size is its figure (no estimate)."""
    skipped, blobs = skip or set(), stored or {}
    archive = read_archive(io.BytesIO(archive_bytes), known=lambda d: d in skipped)
    assert archive.diff_ids == (_digest(LAYER_ONE), _digest(LAYER_TWO))
    assert created_by(archive.config) == (
        "COPY /rootfs/ / # buildkit",
        "COPY /out/hello /usr/local/bin/hello # buildkit",
    )
    for layer, files in ((LAYER_ONE, FILES_ONE), (LAYER_TWO, FILES_TWO)):
        if _digest(layer) in skipped:
            assert _digest(layer) not in archive.stats
            continue
        stats = archive.stats[_digest(layer)]
        assert stats.files == files
        assert stats.size == sum(size for _, size in files)
        if layer in blobs:
            assert stats.compressed is None  # not estimated: the blob's size is the figure
            assert archive.stored_size(_digest(layer)) == len(blobs[layer])
        else:
            assert stats.compressed == _gzip_size(layer)
            assert archive.stored_size(_digest(layer)) is None


def _classic_archive() -> bytes:
    manifest = [
        {"Config": "abc.json", "RepoTags": ["hello:x"], "Layers": ["l1/layer.tar", "l2/layer.tar"]}
    ]
    return _tar(
        [
            ("manifest.json", json.dumps(manifest).encode()),
            ("abc.json", _config()),
            ("l1/VERSION", b"1.0"),
            ("l1/json", b'{"id": "l1"}'),
            ("l1/layer.tar", LAYER_ONE),
            ("l2/layer.tar", LAYER_TWO),
            ("repositories", b'{"hello": {"x": "l2"}}'),
        ]
    )


def _blob(data: bytes) -> tuple[str, bytes]:
    return "blobs/sha256/" + hashlib.sha256(data).hexdigest(), data


def _oci_manifest(config: bytes, layers: list[tuple[bytes, str]]) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "config": {"digest": _digest(config), "size": len(config)},
            "layers": [{"digest": _digest(blob), "mediaType": kind} for blob, kind in layers],
        }
    ).encode()


def test_classic_layout_manifest_and_layer_tars() -> None:
    _check_layers(_classic_archive())


def test_docker25_layout_blobs_with_linked_layer_tars_and_manifest_json() -> None:
    config = _config()
    manifest = [
        {
            "Config": _blob(config)[0],
            "Layers": [_blob(LAYER_ONE)[0], "l2/layer.tar"],  # one named through its link
        }
    ]
    archive = _tar(
        [
            _blob(LAYER_ONE),
            _blob(LAYER_TWO),
            _blob(config),
            _entry("l2", tarfile.DIRTYPE),
            _entry("l2/layer.tar", tarfile.SYMTYPE, "../" + _blob(LAYER_TWO)[0]),
            ("manifest.json", json.dumps(manifest).encode()),
            ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
        ]
    )
    _check_layers(archive)


def test_oci_layout_with_gzip_and_zstd_blobs_and_a_nested_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the containerd image store exports: compressed blobs named by their own
    digest, found only through index.json; their sizes are the figures, nothing is
    compressed to estimate them."""
    monkeypatch.setattr(measure, "GzipSize", _no_estimate)
    config = _config()
    one = gzip.compress(LAYER_ONE, compresslevel=1)  # not the level slim measures with
    two = zstandard.ZstdCompressor().compress(LAYER_TWO)
    manifest = _oci_manifest(config, [(one, "tar+gzip"), (two, "tar+zstd")])
    inner = json.dumps({"manifests": [{"digest": _digest(manifest)}]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{"digest": _digest(inner)}]})
    archive = _tar(
        [
            _blob(one),
            _blob(two),
            _blob(config),
            _blob(manifest),
            _blob(inner),
            ("index.json", index.encode()),
        ]
    )
    _check_layers(archive, stored={LAYER_ONE: one, LAYER_TWO: two})


def _no_estimate(*_: object) -> None:
    raise AssertionError("a stored blob's layer was compressed to estimate its size")


def test_layers_measured_before_are_skipped_unread() -> None:
    config = _config()
    manifest = [{"Config": _blob(config)[0], "Layers": [_blob(LAYER_ONE)[0], _blob(LAYER_TWO)[0]]}]
    archive = _tar(
        [
            _blob(LAYER_ONE),
            _blob(LAYER_TWO),
            _blob(config),
            ("manifest.json", json.dumps(manifest).encode()),
        ]
    )
    _check_layers(archive, skip={_digest(LAYER_ONE)})


def test_a_layer_whose_content_contradicts_the_config_is_an_error() -> None:
    manifest = [{"Config": "c.json", "Layers": ["l1/layer.tar", "l2/layer.tar"]}]
    archive = _tar(
        [
            ("manifest.json", json.dumps(manifest).encode()),
            ("c.json", _config()),
            ("l1/layer.tar", LAYER_TWO),  # swapped
            ("l2/layer.tar", LAYER_ONE),
        ]
    )
    with pytest.raises(BuildError, match="config says"):
        read_archive(io.BytesIO(archive))


@pytest.mark.parametrize("cut", [100, 3000])
def test_a_truncated_or_incomplete_archive_is_an_error_not_a_crash(cut: int) -> None:
    with pytest.raises(BuildError):
        read_archive(io.BytesIO(_classic_archive()[:cut]))


def test_an_archive_without_a_manifest_is_an_error() -> None:
    with pytest.raises(BuildError, match="neither manifest.json nor index.json"):
        read_archive(io.BytesIO(_tar([("l1/layer.tar", LAYER_ONE)])))


def test_created_by_without_matching_history_names_no_instruction() -> None:
    config = {"rootfs": {"diff_ids": ["sha256:a", "sha256:b"]}, "history": HISTORY[:1]}
    assert created_by(config) == ("", "")


def test_the_cache_returns_what_was_stored_and_ignores_corrupt_entries(tmp_path: Path) -> None:
    archive = read_archive(io.BytesIO(_classic_archive()))
    cache = MeasureCache(tmp_path)
    stats = archive.stats[_digest(LAYER_TWO)]
    cache.put_layer(stats)
    cache.put_image("sha256:img", archive.diff_ids, created_by(archive.config))
    assert stats.entries and cache.layer(stats.diff_id, with_entries=True) == stats
    assert cache.layer(stats.diff_id) == replace(stats, entries=())
    assert cache.layer(stats.diff_id, with_files=False) == stats.__class__(
        stats.diff_id, stats.size, stats.compressed, ()
    )
    assert cache.has_layer(stats.diff_id) and not cache.has_layer(_digest(LAYER_ONE))
    assert cache.image("sha256:img") == (archive.diff_ids, created_by(archive.config))
    for path in (cache.root / "layers").iterdir():
        path.write_text("{not json")
    assert cache.layer(stats.diff_id) is None


def _big_layer(files: int = 24) -> bytes:
    """A layer tar of several GZIP_CHUNKs: text-like and binary-like files, compressible
    to different degrees as a toolchain's are (the same bytes every run)."""
    words = [f"symbol_{i:04x}".encode() for i in range(4096)]
    noise = hashlib.sha256(b"seed").digest()
    entries: list[tarfile.TarInfo | tuple[str, bytes]] = [_entry("usr", tarfile.DIRTYPE)]
    for n in range(files):
        if n % 3:
            text = b" ".join(words[(n * 7919 + i * i) % len(words)] for i in range(40_000))
            entries.append((f"usr/share/doc/f{n}.txt", text))
        else:
            blob = b"".join(
                hashlib.sha256(noise + i.to_bytes(4, "big")).digest()[: 8 + i % 24]
                for i in range(30_000)
            )
            entries.append((f"usr/lib/f{n}.so", blob))
    return _tar(entries)


def test_a_layer_of_many_chunks_is_within_tolerance_of_one_gzip_stream() -> None:
    """Compressed in parallel chunks, the figure stays what one gzip stream of the layer
    would be, and does not depend on how many threads compressed it."""
    layer = _big_layer()
    assert len(layer) > 4 * GZIP_CHUNK
    stats = measure_layer(io.BytesIO(layer))
    assert stats.diff_id == _digest(layer)
    assert abs(stats.compressed - _gzip_size(layer)) <= GZIP_TOLERANCE * _gzip_size(layer)
    for workers in (1, 3):
        sizer = GzipSize(workers)
        for start in range(0, len(layer), 10_240):  # pieces as tarfile reads them
            sizer.update(layer[start : start + 10_240])
        assert sizer.total() == stats.compressed


def test_the_compressed_figure_is_near_what_gzip_6_writes() -> None:
    """gzip -6 (GNU gzip's own deflate) is the everyday reference: slim's figure (zlib-ng,
    as close to Go's compress/gzip, which BuildKit pushes with) is a little
    larger, never smaller and never by more than 5%."""
    layer = _big_layer()
    stats = measure_layer(io.BytesIO(layer))
    gnu = len(subprocess.run(["gzip", "-6", "-c"], input=layer, capture_output=True).stdout)
    assert gnu > 0
    assert gnu <= stats.compressed <= gnu * 1.05


def test_a_layer_cut_short_stops_its_compression_threads() -> None:
    layer = _big_layer()
    archive = _tar([("l1/layer.tar", layer[: 3 * GZIP_CHUNK + 100])])
    with pytest.raises(BuildError):
        read_archive(io.BytesIO(archive))
    assert not [t for t in threading.enumerate() if t.name.startswith("slim-gzip")]


def test_a_layer_read_for_its_blob_size_is_not_compressed_and_does_not_serve_measure(
    tmp_path: Path,
) -> None:
    """A registry's or OCI layout's layer has its compressed size (the blob's): reading
    it makes no gzip estimate, and the cache does not hand such an entry to `measure`,
    which needs the estimate, until `measure` has read the layer itself."""
    layer = _tar([("usr/local/bin/app", b"\x7fELF" + bytes(5000))])
    cache = MeasureCache(tmp_path)
    read = measure_layer(io.BufferedReader(io.BytesIO(layer)), estimate=False)  # type: ignore[arg-type]
    assert read.compressed is None and read.size == 5004
    cache.put_layer(read)
    assert cache.layer(read.diff_id) is None and not cache.has_layer(read.diff_id)
    found = cache.layer(read.diff_id, estimate=False)
    assert found is not None and found.size == 5004 and found.files == read.files
    measured = measure_layer(io.BufferedReader(io.BytesIO(layer)))  # type: ignore[arg-type]
    cache.put_layer(measured)
    cache.put_layer(read)  # read from a blob again later: the estimate stays
    kept = cache.layer(read.diff_id)
    assert kept is not None and kept.compressed == measured.compressed == _gzip_size(layer)
    assert cache.has_layer(read.diff_id)
