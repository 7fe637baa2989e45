"""The same figures whatever the engine's image store: slim measures on a classic-store
engine and on a containerd-store engine (scripts/engine.sh --containerd-store starts
it beside the first; its `.Size` means something else) and must agree."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from support.bake_support import (
    ROOT,
    c_artifact,
    go_artifact,
    remove_images,
    unique_registry,
    write_project,
)

from slim_bake.config import load_config
from slim_bake.imageref import inspect_reference
from slim_bake.judge import PASS
from slim_bake.measure import ENGINE_STORE, STORED, MeasureCache, Measurement, measure
from slim_bake.output import regenerate
from slim_bake.pipeline import TargetResult, bake_targets
from slim_bake.plan import Plan, make_plan

pytestmark = pytest.mark.docker

C_RUNTIMES = ["scratch-musl", "scratch-closure", "alpine", "debian-slim", "scratch-musl-debug"]
GO_RUNTIMES = ["scratch-glibc", "distroless-static"]


@pytest.fixture(scope="module")
def containerd_host(docker_engine: None) -> str:
    """The containerd-store engine, started if it is not running, with the stand-ins."""
    started = subprocess.run(
        [str(ROOT / "scripts" / "engine.sh"), "--containerd-store"],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = started.stdout.strip().splitlines()
    if started.returncode != 0 or not lines or not lines[-1].startswith("DOCKER_HOST="):
        pytest.fail(
            f"scripts/engine.sh --containerd-store failed:\n{started.stdout}\n{started.stderr}"
        )
    host = lines[-1].removeprefix("DOCKER_HOST=")
    standins = subprocess.run(
        [str(ROOT / "scripts" / "standins.sh")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DOCKER_HOST": host},
    )
    if standins.returncode != 0:
        pytest.fail(f"scripts/standins.sh on {host} failed:\n{standins.stderr[-3000:]}")
    return host


def test_each_engine_host_gets_its_own_client(
    containerd_host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slim_bake import engine

    monkeypatch.delenv("DOCKER_HOST", raising=False)
    classic = engine.client()
    monkeypatch.setenv("DOCKER_HOST", containerd_host)
    containerd = engine.client()
    assert classic.info()["ID"] != containerd.info()["ID"]  # two engines, not one client
    monkeypatch.delenv("DOCKER_HOST")
    assert engine.client() is classic
    assert engine.client(containerd_host) is containerd


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    root = tmp_path_factory.mktemp("engines")
    artifacts = {"hello": c_artifact(C_RUNTIMES), "gohello": go_artifact(GO_RUNTIMES)}
    return make_plan(load_config(write_project(root, artifacts, unique_registry("engines"))))


def bake_on(plan: Plan, host: str | None, cache: Path) -> dict[str, TargetResult]:
    with pytest.MonkeyPatch.context() as patch:
        if host:
            patch.setenv("DOCKER_HOST", host)
        patch.setenv("SLIM_CACHE_DIR", str(cache))
        regenerate(plan)
        return {r.target: r for r in bake_targets(plan, list(plan.targets))}


@pytest.fixture(scope="module")
def both(
    plan: Plan, containerd_host: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, TargetResult], dict[str, TargetResult]]]:
    caches = tmp_path_factory.mktemp("caches")
    classic = bake_on(plan, None, caches / "classic")
    containerd = bake_on(plan, containerd_host, caches / "containerd")
    yield classic, containerd
    tags = [t.tags[0] for t in plan.targets]
    remove_images(tags)
    remove_images(tags, host=containerd_host)


def test_bake_on_a_containerd_store_engine_passes_like_on_the_classic_store(
    both: tuple[dict[str, TargetResult], dict[str, TargetResult]],
) -> None:
    classic, containerd = both
    for name in classic:
        assert classic[name].status == PASS, (name, classic[name].reasons)
        assert containerd[name].status == PASS, (name, containerd[name].reasons)


def _shape(measurement: Measurement | None) -> dict[str, object]:
    """What must not depend on the store for images built from the same files. The
    compressed size is left out here: the two engines' builds stamp their own mtimes into
    the layer tars (and the stand-ins were imported into each separately), which moves
    gzip's output by a few bytes, and the containerd store's figure is its stored blobs'
    sizes; the next test compares it on identical (uncompressed) layers."""
    assert measurement is not None
    return {
        "size": measurement.size,
        "layers": [(layer.size, layer.created_by, layer.from_base) for layer in measurement.layers],
        "files": [asdict(f) for f in measurement.files],
    }


def test_the_same_build_measures_the_same_on_both_stores(
    both: tuple[dict[str, TargetResult], dict[str, TargetResult]],
) -> None:
    classic, containerd = both
    for name in classic:
        assert _shape(classic[name].measurement) == _shape(containerd[name].measurement), name


def test_the_same_image_measures_identically_on_both_stores(
    plan: Plan,
    both: tuple[dict[str, TargetResult], dict[str, TargetResult]],
    containerd_host: str,
    tmp_path: Path,
) -> None:
    """One image, byte for byte, in both stores: every figure equal, compressed included
    (the containerd store exports its own blob layout, the classic one its own)."""
    classic, _ = both
    names = [
        "hello-scratch-musl",
        "hello-scratch-closure",
        "hello-debian-slim",
        "gohello-scratch-glibc",
    ]
    copies = {
        name: f"{next(t for t in plan.targets if t.name == name).tags[0]}-copy" for name in names
    }
    for name, copy in copies.items():
        subprocess.run(["docker", "tag", classic[name].measurement.image, copy], check=True)  # type: ignore[union-attr]
    saved = subprocess.Popen(["docker", "save", *copies.values()], stdout=subprocess.PIPE)
    loaded = subprocess.run(
        ["docker", "load"],
        stdin=saved.stdout,
        capture_output=True,
        env={**os.environ, "DOCKER_HOST": containerd_host},
        check=False,
    )
    assert saved.wait() == 0 and loaded.returncode == 0, loaded.stderr
    try:
        for name, copy in copies.items():
            here = measure(copy, None, cache=MeasureCache(tmp_path / "classic"))
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("DOCKER_HOST", containerd_host)
                there = measure(copy, None, cache=MeasureCache(tmp_path / "containerd"))
            assert (here.size, here.compressed) == (there.size, there.compressed), name
            assert here.layers == there.layers and here.files == there.files, name
            assert here.size == classic[name].measurement.size  # type: ignore[union-attr]
    finally:
        remove_images(copies.values())
        remove_images(copies.values(), host=containerd_host)


GO_GZIP_SIZE = """package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
)

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func main() {
	c := &counter{}
	w, _ := gzip.NewWriterLevel(c, gzip.DefaultCompression)
	if _, err := io.Copy(w, os.Stdin); err != nil {
		panic(err)
	}
	w.Close()
	fmt.Println(c.n)
}
"""


def test_a_real_layer_measures_as_buildkit_would_push_it(
    docker_engine: None, tmp_path: Path
) -> None:
    """The 74 MB debian-slim stand-in layer (many compression chunks), taken from the
    engine: slim's compressed figure is within GZIP_TOLERANCE of one gzip stream of it
    and within 1.5% of Go's compress/gzip at its default level, the gzip BuildKit
    pushes layers with (run in the Go stand-in; there is no Go here)."""
    from zlib_ng import zlib_ng

    from slim_bake.measure import GZIP_LEVEL, GZIP_TOLERANCE

    image = "slim-standin/debian:bookworm-slim"
    found = measure(image, None, cache=MeasureCache(tmp_path / "cache"))
    assert len(found.layers) == 1 and found.layers[0].size > 50_000_000
    saved = subprocess.run(["docker", "save", image], capture_output=True, check=True).stdout
    layer = _only_layer(saved)
    one_stream = len(zlib_ng.compress(layer, GZIP_LEVEL, wbits=31))
    assert abs(found.compressed - one_stream) <= GZIP_TOLERANCE * one_stream
    (tmp_path / "main.go").write_text(GO_GZIP_SIZE)
    go = subprocess.run(
        ["docker", "run", "--rm", "-i", "--network", "none", "-v", f"{tmp_path}:/src",
         "-w", "/src", "-e", "GO111MODULE=off", "slim-standin/golang:bookworm",
         "go", "run", "main.go"],
        input=layer, capture_output=True, check=False, timeout=600,
    )  # fmt: skip
    assert go.returncode == 0, go.stderr[-2000:]
    go_size = int(go.stdout)
    assert abs(found.compressed - go_size) <= 0.015 * go_size, (found.compressed, go_size)


def _only_layer(saved: bytes) -> bytes:
    """The one layer tar in a `docker save` archive of a one-layer image."""
    with tarfile.open(fileobj=io.BytesIO(saved)) as tar:
        big = [m for m in tar.getmembers() if m.isfile() and m.size > 1_000_000]
        assert len(big) == 1, [m.name for m in big]
        handle = tar.extractfile(big[0])
        assert handle is not None
        return handle.read()


@pytest.fixture(scope="module")
def registry(docker_engine: None) -> str:
    out = (
        subprocess.run(
            [str(ROOT / "scripts" / "registry.sh")], capture_output=True, text=True, check=False
        )
        .stdout.strip()
        .splitlines()
    )
    assert out and out[-1].startswith("SLIM_TEST_REGISTRY="), out
    return out[-1].removeprefix("SLIM_TEST_REGISTRY=")


def _saved_blob_sizes(image: str, host: str) -> list[int]:
    """Each layer's blob size in the image's `docker save`, in the manifest's order."""
    saved = subprocess.run(
        ["docker", "save", image],
        capture_output=True,
        check=True,
        env={**os.environ, "DOCKER_HOST": host},
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(saved)) as tar:
        handle = tar.extractfile("manifest.json")
        assert handle is not None
        layers = json.load(handle)[0]["Layers"]
        return [tar.getmember(name).size for name in layers]


def test_the_containerd_store_measures_its_layers_as_the_blobs_a_push_uploads(
    containerd_host: str, registry: str, tmp_path: Path
) -> None:
    """On the --load path of a containerd-store engine, each layer's compressed figure
    is its stored blob (a zstd stand-in base, BuildKit's gzip layer on it): the size
    `docker save` shows and the registry stores after a push; measured again with the
    layers known, unread, it stays so."""
    env = {**os.environ, "DOCKER_HOST": containerd_host}
    name = uuid.uuid4().hex[:10]
    local, remote = f"slim-ctrblobs-{name}:1", f"{registry}/ctrblobs/blobs-{name}:1"
    (tmp_path / "Dockerfile").write_text("FROM slim-standin/busybox:glibc\nCOPY blob /blob\n")
    (tmp_path / "blob").write_bytes(os.urandom(40_000) + bytes(60_000))
    base = "slim-standin/busybox:glibc"
    build = ["docker", "build", "-q", "-t", local, "-t", remote, str(tmp_path)]
    try:
        subprocess.run(build, capture_output=True, check=True, env=env)
        subprocess.run(["docker", "push", "-q", remote], capture_output=True, check=True, env=env)
        saved = _saved_blob_sizes(local, containerd_host)
        pushed = [layer.compressed for layer in inspect_reference(remote).layers]
        cache = MeasureCache(tmp_path / "cache")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DOCKER_HOST", containerd_host)
            cold = measure(local, base, cache=cache)
            shutil.rmtree(cache.root / "images")
            known = measure(local, base, cache=cache)
    finally:
        remove_images([local, remote], host=containerd_host)
    assert [layer.compressed for layer in cold.layers] == saved == pushed
    assert [layer.from_base for layer in cold.layers] == [True, False]
    assert cold.compressed == sum(pushed)
    assert (cold.compression, cold.store) == (STORED, ENGINE_STORE)
    assert known == cold
