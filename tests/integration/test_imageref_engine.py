"""Measuring images where they are, against the real things: the local registry
(scripts/registry.sh, Debian's distribution) fed by `docker push`, and the OCI layout
that `docker buildx build --output type=oci` writes on the containerd-store engine. Each
must agree with the engine path (`docker://`) on content size, layers and files, and
with the registry's own manifest, byte for byte, on compressed sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from support.bake_support import ROOT

from slim_bake.imageref import LayoutStore, RegistryStore, measure_reference, measure_store
from slim_bake.measure import MeasureCache, Measurement
from slim_bake.registry import parse_reference

pytestmark = pytest.mark.docker

BASE = "slim-standin/alpine:musl"
DOCKERFILE = f"""FROM {BASE}
RUN mkdir -p /opt && head -c 300000 /dev/urandom > /opt/random.bin && echo made > /opt/note.txt
RUN mkdir -p /srv && head -c 50000 /dev/zero > /srv/zeros
"""
CONTAINERD = "unix:///run/slim-containerd/docker.sock"


def _run(*command: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def registry(docker_engine: None) -> str:
    out = _run(str(ROOT / "scripts" / "registry.sh")).strip().splitlines()
    assert out and out[-1].startswith("SLIM_TEST_REGISTRY="), out
    return out[-1].removeprefix("SLIM_TEST_REGISTRY=")


@pytest.fixture(scope="module")
def pushed(registry: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(local tag, registry reference) of one image built here and pushed."""
    context = tmp_path_factory.mktemp("context")
    (context / "Dockerfile").write_text(DOCKERFILE)
    name = uuid.uuid4().hex[:10]
    local = f"slim-regmeasure-{name}:1"
    remote = f"{registry}/regmeasure/app-{name}:1"
    _run("docker", "build", "-q", "-t", local, "-t", remote, str(context))
    try:
        _run("docker", "push", "-q", remote)
        yield local, remote
    finally:
        subprocess.run(["docker", "rmi", local, remote], capture_output=True, check=False)


def _manifest(reference: str) -> dict[str, object]:
    """The manifest as the registry serves it, read here without slim's client."""
    parsed = parse_reference(reference)
    request = urllib.request.Request(
        f"http://{parsed.host}/v2/{parsed.repository}/manifests/{parsed.reference}",
        headers={
            "Accept": "application/vnd.docker.distribution.manifest.v2+json,"
            " application/vnd.oci.image.manifest.v1+json"
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        data: dict[str, object] = json.loads(response.read())
    return data


def _layer_sizes(manifest: dict[str, object]) -> list[int]:
    layers = manifest["layers"]
    assert isinstance(layers, list)
    return [int(layer["size"]) for layer in layers]


def _same_content(a: Measurement, b: Measurement) -> None:
    assert a.size == b.size
    assert [(x.diff_id, x.size, x.from_base) for x in a.layers] == [
        (x.diff_id, x.size, x.from_base) for x in b.layers
    ]
    assert [(f.path, f.size, f.layer) for f in a.files] == [
        (f.path, f.size, f.layer) for f in b.files
    ]


def test_a_registry_image_measures_as_the_engine_one_with_the_registrys_blob_sizes(
    pushed: tuple[str, str], tmp_path: Path
) -> None:
    local, remote = pushed
    from_registry = measure_reference(remote, BASE, cache=MeasureCache(tmp_path / "a"))
    from_engine = measure_reference(f"docker://{local}", BASE, cache=MeasureCache(tmp_path / "b"))
    _same_content(from_registry, from_engine)
    assert from_registry.image_id == from_engine.image_id  # the config digest: the classic ID
    sizes = _layer_sizes(_manifest(remote))
    assert [layer.compressed for layer in from_registry.layers] == sizes
    assert from_registry.compressed == sum(sizes)
    assert {f.path for f in from_registry.files} == {
        "/opt/random.bin",
        "/opt/note.txt",
        "/srv/zeros",
    }
    assert [layer.from_base for layer in from_registry.layers] == [True, False, False]


def test_a_second_registry_measurement_reads_no_blob(
    pushed: tuple[str, str], tmp_path: Path
) -> None:
    cache = MeasureCache(tmp_path / "cache")
    first = RegistryStore(parse_reference(pushed[1]))
    measured = measure_store(first, None, cache=cache)
    assert first.registry.blob_reads == 3
    again = RegistryStore(parse_reference(pushed[1]))
    assert measure_store(again, None, cache=cache) == measured
    assert (again.registry.blob_reads, again.registry.requests) == (0, 1)  # the manifest only


def test_buildx_oci_layout_on_the_containerd_engine_measures_as_the_engine(
    docker_engine: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "DOCKER_HOST": CONTAINERD}
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    layout = tmp_path / "layout"
    tag = f"slim-regmeasure-oci-{uuid.uuid4().hex[:10]}:1"
    build = ("docker", "buildx", "build", "-q", "-t", tag, str(tmp_path))
    _run(*build, "--output", f"type=oci,dest={layout},tar=false", env=env)
    _run(*build, "--load", env=env)  # the same layers, from the build cache, in the engine
    try:
        monkeypatch.setenv("DOCKER_HOST", CONTAINERD)
        store = LayoutStore.open(f"oci:{layout}")
        from_layout = measure_store(store, BASE, cache=MeasureCache(tmp_path / "a"))
        from_engine = measure_reference(tag, BASE, cache=MeasureCache(tmp_path / "b"))
        _same_content(from_layout, from_engine)
        top = json.loads((layout / "index.json").read_text())
        digest = top["manifests"][0]["digest"].split(":")[1]
        manifest = json.loads((layout / "blobs" / "sha256" / digest).read_text())
        assert [layer.compressed for layer in from_layout.layers] == _layer_sizes(manifest)
        tagged = measure_reference(f"oci:{layout}:1", BASE, cache=MeasureCache(tmp_path / "a"))
        assert replace(tagged, image=from_layout.image) == from_layout
    finally:
        subprocess.run(["docker", "rmi", tag], capture_output=True, check=False, env=env)


def _slim(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SLIM_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "slim_bake", "measure", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=300,
    )


def test_slim_measure_exit_codes(pushed: tuple[str, str], tmp_path: Path) -> None:
    local, remote = pushed
    within = _slim(remote, "--max", "10MB", "--max-layers", "3", "--json", cache=tmp_path)
    assert within.returncode == 0, within.stderr
    document = json.loads(within.stdout)
    (target,) = document["targets"]
    assert target["name"] == remote and target["status"] == "pass"
    assert target["measurement"]["compressed"] == sum(_layer_sizes(_manifest(remote)))
    over = _slim(remote, f"docker://{local}", "--max-compressed", "100kB", cache=tmp_path)
    assert over.returncode == 1, over.stderr
    assert over.stdout.count("over-budget") == 2 and "/opt/random.bin" in over.stdout
    assert _slim(remote, "--max-layers", "2", cache=tmp_path).returncode == 1
    bad = _slim("127.0.0.1:5000/Bad/Name", cache=tmp_path)
    assert bad.returncode == 2 and "not a repository name" in bad.stderr
    missing = _slim(f"{remote.rsplit(':', 1)[0]}:no-such-tag", cache=tmp_path)
    assert missing.returncode == 3 and "not found" in missing.stdout
    unreachable = _slim("127.0.0.1:1/regmeasure/app:1", cache=tmp_path)
    assert unreachable.returncode == 3 and "measure-failed" in unreachable.stdout


def test_a_registry_baseline_reads_manifests_and_sizes_from_the_cache(
    pushed: tuple[str, str], tmp_path: Path
) -> None:
    """`slim measure --write-report` names each target by its reference, so
    registry:{target} reads the same image back as the baseline."""
    _, remote = pushed
    head = tmp_path / "head.json"
    assert _slim(remote, "--write-report", str(head), cache=tmp_path / "a").returncode == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for cache, size_known in ((tmp_path / "a", True), (tmp_path / "fresh", False)):
        done = subprocess.run(
            [sys.executable, "-m", "slim_bake", "report", "registry:{target}", str(head), "--json"],
            capture_output=True,
            text=True,
            check=False,
            env={**env, "SLIM_CACHE_DIR": str(cache)},
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        (target,) = json.loads(done.stdout)["targets"]
        baseline = target["baseline"]
        assert baseline["state"] == "compared"
        assert baseline["compressed"] == sum(_layer_sizes(_manifest(remote)))
        assert baseline["delta_compressed"] == 0
        assert (baseline["size"] == target["measurement"]["size"]) is size_known
        assert ("size of" in done.stderr and "is unknown" in done.stderr) is not size_known
        if not size_known:  # no layer was read, so none was measured into the cache
            assert not (cache / "measure-v2" / "layers").exists()
