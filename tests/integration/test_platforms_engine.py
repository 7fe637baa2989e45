"""`slim bake --output oci` of a slim.yaml with two platforms on the containerd-store
engine: Go cross-compiles in a build stage on the build platform (no emulation: this
machine has none), each platform's image is measured from the one OCI layout, the
native one is smoke-run and the other reported as not run.

The offline stand-in bases exist for linux/amd64 only, so the runtime is `scratch`
(scratch-glibc: Go's static binary); the golang stand-in is the build platform's."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import struct
import subprocess
import tarfile
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.bake_support import (
    CONTAINERD,
    ELF_MACHINE,
    PLATFORMS,
    ROOT,
    bake_on_containerd,
    go_artifact,
    layout_blob,
    layout_manifests,
    write_project,
)

pytestmark = pytest.mark.docker


def _file(layout: Path, manifest: dict[str, Any], path: str) -> bytes:
    for layer in reversed(manifest["layers"]):
        data = layout_blob(layout, layer["digest"])
        if layer["mediaType"].endswith("gzip"):
            data = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            with_name = [m for m in tar.getmembers() if m.name.lstrip("./") == path]
            if with_name:
                member = tar.extractfile(with_name[0])
                assert member is not None
                return member.read()
    raise AssertionError(f"{path} is in no layer")


def _bake(tmp_path: Path, registry: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = write_project(
        tmp_path / "project",
        {"hello": go_artifact(["scratch-glibc"])},
        registry,
        platforms=PLATFORMS,
    )
    return bake_on_containerd(path, tmp_path / "cache", *args)


def test_two_platforms_give_two_sets_of_figures_from_one_oci_layout(
    tmp_path: Path, docker_engine: None
) -> None:
    layouts = tmp_path / "layouts"
    run = _bake(
        tmp_path, "127.0.0.1:5000/platforms/engine", "--output", "oci", "--oci-dir", str(layouts)
    )
    assert run.returncode == 0, run.stderr
    entries = json.loads(run.stdout)["targets"]
    assert [(t["name"], t["platform"]) for t in entries] == [
        ("hello-scratch-glibc", p) for p in PLATFORMS
    ]
    amd64, arm64 = entries
    layout = layouts / "hello-scratch-glibc"
    manifests = layout_manifests(layout)
    assert set(manifests) == set(PLATFORMS)
    for entry, platform in zip(entries, PLATFORMS, strict=True):
        assert entry["status"] == "pass", entry["reasons"]
        measured = entry["measurement"]
        manifest = manifests[platform]
        # Each entry's figures are its own platform's image in the layout.
        assert measured["image_id"] == manifest["config"]["digest"]
        assert measured["compressed"] == sum(layer["size"] for layer in manifest["layers"])
        binary = _file(layout, manifest, "usr/local/bin/hello")
        assert binary[:4] == b"\x7fELF"
        assert struct.unpack_from("<H", binary, 18)[0] == ELF_MACHINE[platform]
    assert amd64["measurement"]["image_id"] != arm64["measurement"]["image_id"]
    # The native platform is smoke-run; arm64 is not, and the report says so.
    assert amd64["smoke"]["ok"] and amd64["smoke"]["stdout"].strip() == "Hello, world!"
    assert "notes" not in amd64
    assert arm64["smoke"] is None
    assert arm64["notes"] == [
        "smoke run not run: linux/arm64 is not this engine's platform (linux/amd64)"
    ]


@pytest.fixture
def repository(docker_engine: None) -> Iterator[str]:
    """A repository of this test alone in the local registry; its index deleted after."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "registry.sh")], capture_output=True, text=True, check=False
    )
    address = done.stdout.strip().splitlines()[-1].removeprefix("SLIM_TEST_REGISTRY=")
    assert done.returncode == 0, done.stderr
    name = f"{address}/platforms/t{uuid.uuid4().hex[:10]}"
    yield name
    for reference in _pushed:
        repo, _, digest = reference.rpartition("@")
        host, _, path = repo.partition("/")
        request = urllib.request.Request(
            f"http://{host}/v2/{path}/manifests/{digest}", method="DELETE"
        )
        with contextlib.suppress(OSError):  # a registry without deletes keeps it
            urllib.request.urlopen(request, timeout=30).close()


_pushed: list[str] = []


def test_two_platforms_pushed_are_measured_from_the_index_and_the_native_one_pulled(
    tmp_path: Path, repository: str
) -> None:
    run = _bake(tmp_path, repository, "--output", "registry")
    entries = json.loads(run.stdout)["targets"] if run.stdout else []
    _pushed.extend({t["measurement"]["image"] for t in entries if t["measurement"]})
    assert run.returncode == 0, run.stderr
    amd64, arm64 = entries
    assert (amd64["platform"], arm64["platform"]) == tuple(PLATFORMS)
    # One pushed index, measured twice: each platform's own image in it.
    assert amd64["measurement"]["image"] == arm64["measurement"]["image"]
    assert amd64["measurement"]["image"].startswith(f"{repository}/hello@sha256:")
    assert amd64["measurement"]["image_id"] != arm64["measurement"]["image_id"]
    assert amd64["smoke"]["ok"] and amd64["smoke"]["stdout"].strip() == "Hello, world!"
    assert arm64["smoke"] is None and "not this engine's platform" in arm64["notes"][0]
    listed = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DOCKER_HOST": CONTAINERD},
    )
    assert repository not in listed.stdout  # pulled for its smoke run, removed after
