"""Reproducible images on the real engines: `slim bake --repro-check` on the example's
variants (two builds from an empty cache give the same image IDs on the default, classic
store), a deliberately unreproducible target caught with the file and the reason, and
provenance attestations in an OCI layout's index on the containerd-store engine."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from support.bake_support import remove_images, run_slim, unique_registry

from slim_bake.config import load_config
from slim_bake.plan import make_plan

CONTAINERD = "unix:///run/slim-containerd/docker.sock"
# The example's variants (examples/offline.slim.yaml) but single-stage: the toolchain
# image with a build's files in it, reproducible only where rewrite-timestamp is (README).
EXAMPLE_RUNTIMES = [
    "debian-slim", "alpine", "alpine-static", "busybox-glibc", "distroless-static",
    "distroless-cc", "scratch-glibc", "scratch-musl", "scratch-closure", "scratch-musl-debug",
]  # fmt: skip
# A build that is different every time: the nanoseconds of the clock in the program.
STAMPED = "gcc -static -O2 -o hello hello.c && date +%s%N >>hello"


def tags_of(path: Path) -> list[str]:
    return [t.tags[0] for t in make_plan(load_config(path)).targets]


@pytest.mark.docker
def test_the_examples_variants_are_reproducible_from_an_empty_cache(
    project: Callable[..., Path], docker_engine: None
) -> None:
    config = {
        "version": 1,
        "registry": unique_registry("repro"),
        "artifacts": {"hello": {"lang": "c", "context": "./hello", "runtimes": EXAMPLE_RUNTIMES}},
    }
    path = project(config, standins=True)
    try:
        done = run_slim("bake", "--repro-check", "-c", str(path))
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        for runtime in EXAMPLE_RUNTIMES:
            assert any(line.startswith(f"hello-{runtime}: reproducible (sha256:") for line in lines)
        assert "--no-cache" in done.stderr  # both builds really started from an empty cache
    finally:
        remove_images(tags_of(path))


@pytest.mark.docker
def test_an_unreproducible_target_is_caught_with_its_file_and_the_reason(
    project: Callable[..., Path], docker_engine: None
) -> None:
    config = {
        "version": 1,
        "registry": unique_registry("repro"),
        "artifacts": {
            "stamped": {
                "lang": "custom",
                "context": "./hello",
                "runtimes": ["scratch-glibc"],
                "build": {"glibc-static": {"command": STAMPED, "output": "hello"}},
            },
            "hello": {"lang": "c", "context": "./hello", "runtimes": ["scratch-musl"]},
        },
    }
    path = project(config, standins=True)
    try:
        done = run_slim("bake", "--repro-check", "-c", str(path))
        assert done.returncode == 1, done.stdout + done.stderr
        out = done.stdout
        assert "stamped-scratch-glibc: NOT reproducible" in out
        assert "hello-scratch-musl: reproducible" in out
        # The program's layer, named by its instruction, and the file with why.
        assert "(COPY /files/ / # buildkit)" in out
        assert "/usr/local/bin/stamped: content (" in out
        # The other files of that layer are the same in both builds: not listed.
        assert "/usr/local/bin:" not in out and "/etc/passwd" not in out
    finally:
        remove_images(tags_of(path))


@pytest.mark.docker
def test_provenance_is_in_the_oci_layouts_index_on_the_containerd_store(
    project: Callable[..., Path], docker_engine: None, tmp_path: Path
) -> None:
    config = {
        "version": 1,
        "registry": unique_registry("repro-attest"),
        "attest": {"provenance": "max"},
        "artifacts": {"hello": {"lang": "c", "context": "./hello", "runtimes": ["scratch-musl"]}},
    }
    path = project(config, standins=True)
    generated = run_slim("generate", "-c", str(path))
    assert generated.returncode == 0, generated.stderr
    layout = tmp_path / "oci"
    done = subprocess.run(
        ["docker", "buildx", "bake", "-f", "docker-bake.hcl",
         "--set", f"*.output=type=oci,dest={layout},tar=false,rewrite-timestamp=true",
         "hello-scratch-musl"],
        cwd=path.parent, capture_output=True, text=True, check=False, timeout=600,
        env={**os.environ, "DOCKER_HOST": CONTAINERD, "SOURCE_DATE_EPOCH": "1700000000"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    index = json.loads((layout / "index.json").read_text())
    [entry] = index["manifests"]
    assert entry["mediaType"] == "application/vnd.oci.image.index.v1+json"
    image_index = json.loads(blob(layout, entry["digest"]))
    kinds = {
        m.get("annotations", {}).get("vnd.docker.reference.type", "image"): m
        for m in image_index["manifests"]
    }
    assert set(kinds) == {"image", "attestation-manifest"}
    attestation = kinds["attestation-manifest"]
    assert attestation["annotations"]["vnd.docker.reference.digest"] == kinds["image"]["digest"]
    manifest = json.loads(blob(layout, attestation["digest"]))
    [layer] = manifest["layers"]
    assert layer["annotations"]["in-toto.io/predicate-type"].startswith(
        "https://slsa.dev/provenance/"
    )
    statement = json.loads(blob(layout, layer["digest"]))
    predicate = statement["predicate"]
    # The build's arguments, with the SOURCE_DATE_EPOCH it was given; mode=max: its steps.
    args = predicate["invocation"]["parameters"]["args"]
    assert args["build-arg:SOURCE_DATE_EPOCH"] == "1700000000"
    assert predicate["buildConfig"]["llbDefinition"]


def blob(layout: Path, digest: str) -> bytes:
    algorithm, _, value = digest.partition(":")
    return (layout / "blobs" / algorithm / value).read_bytes()
