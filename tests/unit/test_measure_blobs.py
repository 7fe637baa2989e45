"""measure() on the --load path with the containerd image store's compressed layer
blobs (no engine: a stand-in engine whose `save()` streams archives built here): a
stored blob's size is the compressed figure and nothing is compressed for it; a
classic store's layer tar keeps slim's gzip estimate, with one cache shared by both."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import zstandard
from support.report_samples import report, target
from zlib_ng import zlib_ng

from slim_bake import engine, measure
from slim_bake.measure import (
    ENGINE_STORE,
    ESTIMATED,
    GZIP_LEVEL,
    MIXED,
    STORED,
    MeasureCache,
    Measurement,
)
from slim_bake.report.build import compression, figures
from slim_bake.report.compare import compare
from slim_bake.report.json_output import render
from slim_bake.report.markdown import render as markdown
from slim_bake.report.model import Report
from slim_bake.report.reading import parse_report
from slim_bake.report.terminal import format_table


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


BASE = _tar({"etc/os-release": b"ID=standin\n" * 300, "bin/sh": bytes(range(256)) * 40})
OURS = _tar({"usr/local/bin/hello": b"\x7fELF" + bytes(range(256)) * 60})
CONFIG = json.dumps(
    {
        "rootfs": {"type": "layers", "diff_ids": [_digest(BASE), _digest(OURS)]},
        "history": [{"created_by": "base"}, {"created_by": "COPY hello"}],
    }
).encode()


def _blob_name(data: bytes) -> str:
    return "blobs/sha256/" + hashlib.sha256(data).hexdigest()


def containerd_archive(blobs: list[bytes]) -> bytes:
    """What the containerd store's `docker save` writes: the layers' own blobs (as
    stored: gzip, zstd or plain), an OCI manifest naming them, index.json."""
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "config": {"digest": _digest(CONFIG), "size": len(CONFIG)},
            "layers": [{"digest": _digest(b), "size": len(b)} for b in blobs],
        }
    ).encode()
    index = {"schemaVersion": 2, "manifests": [{"digest": _digest(manifest)}]}
    members = {_blob_name(b): b for b in (*blobs, CONFIG, manifest)}
    return _tar({**members, "index.json": json.dumps(index).encode()})


def classic_archive() -> bytes:
    manifest = [{"Config": "c.json", "Layers": ["l1/layer.tar", "l2/layer.tar"]}]
    return _tar(
        {
            "manifest.json": json.dumps(manifest).encode(),
            "c.json": CONFIG,
            "l1/layer.tar": BASE,
            "l2/layer.tar": OURS,
        }
    )


class StandinImage:
    def __init__(self, image_id: str, archive: bytes, made_by: tuple[str, ...] = ()) -> None:
        self.id, self.archive, self.saves = image_id, archive, 0
        rootfs = json.loads(CONFIG)["rootfs"]
        # What each store's engine says it keeps layers with (docker image inspect).
        driver = "overlayfs" if b"index.json" in archive else "overlay2"
        self.attrs: dict[str, object] = {
            "Config": {},
            "RootFS": {"Layers": rootfs["diff_ids"]},
            "GraphDriver": {"Name": driver},
        }
        self.made_by = made_by or tuple(h["created_by"] for h in json.loads(CONFIG)["history"])

    def history(self) -> list[dict[str, object]]:
        return [{"CreatedBy": line, "Size": 0} for line in reversed(self.made_by)]

    def save(self, chunk_size: int) -> Iterator[bytes]:
        self.saves += 1
        for start in range(0, len(self.archive), chunk_size):
            yield self.archive[start : start + chunk_size]


class StandinEngine:
    def __init__(self, *images: StandinImage) -> None:
        self.images = self
        self.by_id = {i.id: i for i in images}

    def get(self, name: str) -> StandinImage:
        return self.by_id[name]


GZ_BASE = gzip.compress(BASE, compresslevel=1)  # as pulled: not the level slim estimates
ZST_OURS = zstandard.ZstdCompressor().compress(OURS)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many layers were read (measure_layer) and gzip estimates made (GzipSize)."""
    counts = {"read": 0, "estimated": 0}
    read, estimate = measure.measure_layer, measure.GzipSize

    def counting_read(*args: object, **kwargs: object) -> measure.LayerStats:
        counts["read"] += 1
        return read(*args, **kwargs)  # type: ignore[arg-type]

    def counting_estimate(*args: object) -> measure.GzipSize:
        counts["estimated"] += 1
        return estimate(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(measure, "measure_layer", counting_read)
    monkeypatch.setattr(measure, "GzipSize", counting_estimate)
    return counts


def on(monkeypatch: pytest.MonkeyPatch, image: StandinImage) -> None:
    monkeypatch.setattr(engine, "client", lambda *_: StandinEngine(image))


def _measure(image: StandinImage, cache: MeasureCache) -> Measurement:
    return measure.measure(image.id, None, cache=cache)


def test_compressed_blobs_count_with_their_stored_size_and_are_not_compressed(
    monkeypatch: pytest.MonkeyPatch, counted: dict[str, int], tmp_path: Path
) -> None:
    image = StandinImage("sha256:" + "c" * 64, containerd_archive([GZ_BASE, ZST_OURS]))
    on(monkeypatch, image)
    found = _measure(image, MeasureCache(tmp_path))
    assert [layer.compressed for layer in found.layers] == [len(GZ_BASE), len(ZST_OURS)]
    estimates = [len(zlib_ng.compress(x, GZIP_LEVEL, wbits=31)) for x in (BASE, OURS)]
    assert [layer.compressed for layer in found.layers] != estimates
    assert found.compressed == len(GZ_BASE) + len(ZST_OURS)
    assert (found.compression, found.store) == (STORED, ENGINE_STORE)
    assert found.size == sum(len(d) for d in (b"ID=standin\n" * 300, bytes(range(256)) * 40)) + (
        4 + 256 * 60
    )
    assert counted == {"read": 2, "estimated": 0}


def test_a_measured_image_and_its_known_layers_keep_their_blob_sizes(
    monkeypatch: pytest.MonkeyPatch, counted: dict[str, int], tmp_path: Path
) -> None:
    """Warm (nothing exported) and layers known (exported, no blob read): the same
    figures as cold, blob sizes included."""
    image = StandinImage("sha256:" + "c" * 64, containerd_archive([GZ_BASE, ZST_OURS]))
    on(monkeypatch, image)
    cache = MeasureCache(tmp_path)
    cold = _measure(image, cache)
    warm = _measure(image, cache)
    assert (warm, image.saves) == (cold, 1)
    for entry in (cache.root / "images").iterdir():
        entry.unlink()
    known = _measure(image, cache)
    assert (known, image.saves, counted["read"]) == (cold, 2, 2)  # both blobs skipped unread


def test_one_cache_keeps_each_store_honest(
    monkeypatch: pytest.MonkeyPatch, counted: dict[str, int], tmp_path: Path
) -> None:
    """The same layers in both stores, one cache: the containerd store's image reports
    its blob sizes, the classic store's the gzip estimate, whichever came first."""
    cache = MeasureCache(tmp_path)
    stored = StandinImage("sha256:" + "c" * 64, containerd_archive([GZ_BASE, ZST_OURS]))
    classic = StandinImage(_digest(CONFIG), classic_archive())
    on(monkeypatch, stored)
    first = _measure(stored, cache)
    on(monkeypatch, classic)
    estimated = _measure(classic, cache)
    assert counted == {"read": 4, "estimated": 2}  # the blobs' layers had no estimate
    assert [x.compressed for x in estimated.layers] == [
        len(zlib_ng.compress(x, GZIP_LEVEL, wbits=31)) for x in (BASE, OURS)
    ]
    assert (estimated.compression, estimated.store) == (ESTIMATED, "")
    assert estimated.size == first.size
    on(monkeypatch, stored)
    for entry in (cache.root / "images").iterdir():
        entry.unlink()
    assert _measure(stored, cache) == first  # estimates cached now, blob sizes still shown
    assert counted["read"] == 4


def test_a_store_with_a_plain_layer_estimates_that_one(
    monkeypatch: pytest.MonkeyPatch, counted: dict[str, int], tmp_path: Path
) -> None:
    image = StandinImage("sha256:" + "d" * 64, containerd_archive([BASE, ZST_OURS]))
    on(monkeypatch, image)
    found = _measure(image, MeasureCache(tmp_path))
    estimate = len(zlib_ng.compress(BASE, GZIP_LEVEL, wbits=31))
    assert abs(found.layers[0].compressed - estimate) <= 0.005 * estimate
    assert found.layers[1].compressed == len(ZST_OURS)
    assert (found.compression, counted["estimated"]) == (MIXED, 1)


def test_a_cache_entry_of_an_older_slim_is_measured_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An image entry without the blob sizes (slim before them estimated every layer):
    exported again rather than shown with the estimate."""
    image = StandinImage("sha256:" + "c" * 64, containerd_archive([GZ_BASE, ZST_OURS]))
    on(monkeypatch, image)
    cache = MeasureCache(tmp_path)
    cold = _measure(image, cache)
    cache.put_image(image.id, (_digest(BASE), _digest(OURS)), ("base", "COPY hello"))
    assert _measure(image, cache) == cold and image.saves == 2


def _run(*measured: Measurement) -> Report:
    records = [target(f"{m.image[7:15]}-{n}", figures(m)) for n, m in enumerate(measured)]
    return replace(
        report(*records), compression=compression(r.figures for r in records if r.figures)
    )


def test_the_report_says_what_the_compressed_figures_are(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cache = MeasureCache(tmp_path)
    stored = StandinImage("sha256:" + "c" * 64, containerd_archive([GZ_BASE, ZST_OURS]))
    classic = StandinImage(_digest(CONFIG), classic_archive())
    on(monkeypatch, stored)
    blobs = _measure(stored, cache)
    on(monkeypatch, classic)
    estimated = _measure(classic, cache)

    assert _run(estimated).compression == {"format": "gzip", "level": GZIP_LEVEL}
    run = _run(blobs)
    assert run.compression == {"format": "blobs", "source": ENGINE_STORE}
    assert _run(blobs, estimated).compression["format"] == "mixed"
    table = format_table(compare(None, run))
    assert f"compressed: the layer blobs' sizes as stored in the {ENGINE_STORE}" in table
    assert "layer blobs' sizes as stored in the containerd image store" in markdown(
        compare(None, run)
    ).replace("\\", "")
    plain = format_table(compare(None, _run(estimated)))
    assert "compressed:" not in plain  # slim's gzip estimate, as every report before
    for written in (run, _run(blobs, estimated)):  # the JSON says it, and is read again
        again = parse_report(render(compare(None, written)), "report.json")
        assert again.compression == written.compression


def test_a_cache_that_names_the_wrong_layer_for_a_blob_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A blob skipped as known must hold the layer the image's config names: a cache
    that says otherwise (edited, or from a broken disk) fails the measurement, never
    lends another layer's figures."""
    image = StandinImage("sha256:" + "c" * 64, containerd_archive([GZ_BASE, ZST_OURS]))
    on(monkeypatch, image)
    cache = MeasureCache(tmp_path)
    _measure(image, cache)
    cache.put_blob(_digest(GZ_BASE), _digest(OURS))
    for entry in (cache.root / "images").iterdir():
        entry.unlink()
    with pytest.raises(measure.BuildError, match="remove .* and run again"):
        _measure(image, cache)


def test_a_new_id_for_the_same_image_is_not_exported_again(
    monkeypatch: pytest.MonkeyPatch, counted: dict[str, int], tmp_path: Path
) -> None:
    """The containerd store names an image by its index digest, which changes with every
    build's provenance attestation: the same layers, config and history under a new ID
    are measured from the cache, not exported again."""
    cache = MeasureCache(tmp_path)
    first = StandinImage("sha256:" + "1" * 64, containerd_archive([GZ_BASE, ZST_OURS]))
    on(monkeypatch, first)
    before = _measure(first, cache)
    rebuilt = StandinImage("sha256:" + "2" * 64, containerd_archive([GZ_BASE, ZST_OURS]))
    on(monkeypatch, rebuilt)
    after = _measure(rebuilt, cache)
    assert (first.saves, rebuilt.saves, counted["read"]) == (1, 0, 2)
    assert (after.size, after.compressed, after.layers) == (
        before.size,
        before.compressed,
        before.layers,
    )
    assert after.image_id == rebuilt.id


def test_the_same_layers_made_by_other_instructions_are_exported_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cache = MeasureCache(tmp_path)
    first = StandinImage("sha256:" + "1" * 64, containerd_archive([GZ_BASE, ZST_OURS]))
    on(monkeypatch, first)
    _measure(first, cache)
    other = StandinImage(
        "sha256:" + "3" * 64, containerd_archive([GZ_BASE, ZST_OURS]), ("base", "ADD hello")
    )
    on(monkeypatch, other)
    _measure(other, cache)
    assert other.saves == 1  # its history differs: the cache's entry is not its own
