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
from typing import Any

import pytest
from support.bake_support import remove_images, run_slim, unique_registry

from slim_bake.config import load_config
from slim_bake.plan import make_plan

CONTAINERD = "unix:///run/slim-containerd/docker.sock"
SBOM_GENERATOR = Path(__file__).resolve().parents[1] / "support" / "sbom_generator"
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


def bake_oci(path: Path, layout: Path, target: str) -> None:
    """The generated bake file, baked into an OCI layout on the containerd-store engine."""
    generated = run_slim("generate", "-c", str(path))
    assert generated.returncode == 0, generated.stderr
    done = subprocess.run(
        ["docker", "buildx", "bake", "-f", "docker-bake.hcl",
         "--set", f"*.output=type=oci,dest={layout},tar=false,rewrite-timestamp=true", target],
        cwd=path.parent, capture_output=True, text=True, check=False, timeout=600,
        env={**os.environ, "DOCKER_HOST": CONTAINERD, "SOURCE_DATE_EPOCH": "1700000000"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def attestations(layout: Path) -> dict[str, list[dict[str, Any]]]:
    """predicate type → the in-toto statements of the layout's one image, read from its
    index.json (the image index, its attestation manifest, that manifest's layers)."""
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
    statements: dict[str, list[dict[str, Any]]] = {}
    for layer in json.loads(blob(layout, attestation["digest"]))["layers"]:
        kind = layer["annotations"]["in-toto.io/predicate-type"]
        statements.setdefault(kind, []).append(json.loads(blob(layout, layer["digest"])))
    return statements


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
    bake_oci(path, tmp_path / "oci", "hello-scratch-musl")
    found = attestations(tmp_path / "oci")
    assert set(found) == {"https://slsa.dev/provenance/v0.2"}
    [statement] = found["https://slsa.dev/provenance/v0.2"]
    predicate = statement["predicate"]
    # The build's arguments, with the SOURCE_DATE_EPOCH it was given; mode=max: its steps.
    args = predicate["invocation"]["parameters"]["args"]
    assert args["build-arg:SOURCE_DATE_EPOCH"] == "1700000000"
    assert predicate["buildConfig"]["llbDefinition"]


@pytest.mark.docker
def test_an_sbom_of_the_image_and_the_build_stage_from_a_local_generator(
    project: Callable[..., Path], docker_engine: None, tmp_path: Path
) -> None:
    """docker/buildkit-syft-scanner cannot be pulled here: the stand-in generator (Debian
    packages of each scanned root file system) is built into the engine's image store."""
    generator = "slim-repro-sbom-generator:test"
    made = subprocess.run(
        ["docker", "build", "-q", "-t", generator, str(SBOM_GENERATOR)],
        capture_output=True, text=True, check=False, timeout=600,
        env={**os.environ, "DOCKER_HOST": CONTAINERD},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    config = {
        "version": 1,
        "registry": unique_registry("repro-sbom"),
        "attest": {"sbom": True, "sbom_generator": generator},
        "artifacts": {"hello": {"lang": "c", "context": "./hello", "runtimes": ["debian-slim"]}},
    }
    path = project(config, standins=True)
    try:
        bake_oci(path, tmp_path / "oci", "hello-debian-slim")
    finally:
        remove_images([generator], CONTAINERD)
    found = attestations(tmp_path / "oci")
    documents = {s["predicate"]["name"]: s["predicate"] for s in found["https://spdx.dev/Document"]}
    # The image (the debian-slim base's packages) and, with BUILDKIT_SBOM_SCAN_STAGE, the
    # build stage (the toolchain's: gcc among them), each its own SPDX document.
    assert set(documents) == {"sbom", "sbom-build"}
    image = {p["name"] for p in documents["sbom"]["packages"]}
    build = {p["name"] for p in documents["sbom-build"]["packages"]}
    assert "base-files" in image and "gcc" not in image
    assert "gcc" in build


def blob(layout: Path, digest: str) -> bytes:
    algorithm, _, value = digest.partition(":")
    return (layout / "blobs" / algorithm / value).read_bytes()


@pytest.mark.docker
def test_slim_bake_loads_attestations_into_the_containerd_store(
    project: Callable[..., Path], docker_engine: None, tmp_path: Path
) -> None:
    """The default `--load` keeps provenance on the containerd-store engine (the classic
    store refuses it: README); `docker save` writes the image index with it."""
    config = {
        "version": 1,
        "registry": unique_registry("repro-load"),
        "attest": {"provenance": "min"},
        "artifacts": {"hello": {"lang": "c", "context": "./hello", "runtimes": ["scratch-musl"]}},
    }
    path = project(config, standins=True)
    [tag] = tags_of(path)
    try:
        done = run_slim("bake", "-c", str(path), env={"DOCKER_HOST": CONTAINERD})
        assert done.returncode == 0, done.stdout + done.stderr
        layout = tmp_path / "saved"
        layout.mkdir()
        saved = subprocess.run(
            f"docker save {tag} | tar -x -C {layout}", shell=True, capture_output=True,
            text=True, check=False, timeout=300, env={**os.environ, "DOCKER_HOST": CONTAINERD},
        )  # fmt: skip
        assert saved.returncode == 0, saved.stderr
        assert set(attestations(layout)) == {"https://slsa.dev/provenance/v0.2"}
    finally:
        remove_images([tag], CONTAINERD)


@pytest.mark.docker
def test_the_report_records_the_attestations_an_oci_output_keeps(
    project: Callable[..., Path], docker_engine: None, tmp_path: Path
) -> None:
    """`slim bake --output oci` with `attest:` on the containerd store: each target's
    report entry lists the predicate types found beside its image in the layout's index
    (read from the index, not from buildx's output); without `attest:` it lists none."""
    config = {
        "version": 1,
        "registry": unique_registry("repro-attest-report"),
        "attest": {"provenance": "max"},
        "artifacts": {"hello": {"lang": "c", "context": "./hello", "runtimes": ["scratch-musl"]}},
    }
    path = project(config, standins=True)
    env = {"DOCKER_HOST": CONTAINERD}
    for attested in (True, False):
        if not attested:
            del config["attest"]
            path = project(config, standins=True)
        layouts = tmp_path / f"oci-{attested}"
        done = run_slim(
            "bake", "-c", str(path), "--no-smoke", "--output", "oci", "--oci-dir", str(layouts),
            "--json", env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        [target] = json.loads(done.stdout)["targets"]
        recorded = target["measurement"].get("attestations", [])
        if attested:
            assert recorded == ["https://slsa.dev/provenance/v0.2"]
            assert set(attestations(layouts / "hello-scratch-musl")) == set(recorded)
        else:
            assert recorded == []
