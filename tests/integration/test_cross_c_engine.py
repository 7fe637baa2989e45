"""`slim bake --output oci` of hello.c for linux/amd64 and linux/arm64 on the containerd-store
engine: the build stage cross-compiles on the build platform with Debian's cross toolchain
(the gcc-cross base: slim-standin/gcc:cross), no emulation (this machine has none); the
arm64 scratch-closure image carries the aarch64 loader and libc, collected by walking
DT_NEEDED in the cross sysroot. amd64 is smoke-run, arm64 reported as not run.

The offline stand-in bases exist for linux/amd64 only, so the runtimes are scratch ones."""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
import tarfile
from pathlib import Path
from typing import Any

from support.bake_support import (
    ROOT,
    c_artifact,
    layout_blob,
    layout_manifests,
    run_slim,
    write_project,
)

CONTAINERD = "unix:///run/slim-containerd/docker.sock"
PLATFORMS = ["linux/amd64", "linux/arm64"]
ELF_MACHINE = {"linux/amd64": 0x3E, "linux/arm64": 0xB7}  # EM_X86_64, EM_AARCH64
TRIPLET = {"linux/amd64": "x86_64-linux-gnu", "linux/arm64": "aarch64-linux-gnu"}
LOADER = {"linux/amd64": "lib64/ld-linux-x86-64.so.2", "linux/arm64": "lib/ld-linux-aarch64.so.1"}


def _files(layout: Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """Every regular file of the image (scratch: no whiteouts), by path."""
    found: dict[str, bytes] = {}
    for layer in manifest["layers"]:
        data = layout_blob(layout, layer["digest"])
        if layer["mediaType"].endswith("gzip"):
            data = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar.getmembers():
                extracted = tar.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    found[member.name.removeprefix("./")] = extracted.read()
    return found


def _machine(data: bytes) -> int | None:
    return struct.unpack_from("<H", data, 18)[0] if data[:4] == b"\x7fELF" else None


def test_c_cross_compiles_for_arm64_with_its_closure_collected_for_arm64(
    tmp_path: Path, docker_engine: None
) -> None:
    path = write_project(
        tmp_path / "project",
        {"hello": c_artifact(["scratch-glibc", "scratch-closure"])},
        "127.0.0.1:5000/crossc/engine",
        platforms=PLATFORMS,
    )
    layouts = tmp_path / "layouts"
    run = run_slim(
        *("bake", "--config", str(path), "--output", "oci", "--oci-dir", str(layouts), "--json"),
        env={
            "DOCKER_HOST": CONTAINERD,
            "SLIM_CACHE_DIR": str(tmp_path / "cache"),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        },
    )
    assert run.returncode == 0, run.stderr
    entries = {(t["name"], t["platform"]): t for t in json.loads(run.stdout)["targets"]}
    names = ("hello-scratch-glibc", "hello-scratch-closure")
    assert set(entries) == {(n, p) for n in names for p in PLATFORMS}
    for name in names:
        manifests = layout_manifests(layouts / name)
        assert set(manifests) == set(PLATFORMS)
        for platform in PLATFORMS:
            files = _files(layouts / name, manifests[platform])
            assert _machine(files["usr/local/bin/hello"]) == ELF_MACHINE[platform], platform
            if name == "hello-scratch-closure":
                # The target's own loader and libc, and no library of another architecture.
                libraries = {p: d for p, d in files.items() if p.startswith(("lib", "usr/lib"))}
                assert _machine(libraries[LOADER[platform]]) == ELF_MACHINE[platform]
                libc = libraries[f"lib/{TRIPLET[platform]}/libc.so.6"]
                assert _machine(libc) == ELF_MACHINE[platform]
                assert {_machine(d) for d in libraries.values()} == {ELF_MACHINE[platform]}
            else:
                assert not any(p.startswith(("lib/", "lib64/")) for p in files)  # static
        amd64, arm64 = (entries[(name, p)] for p in PLATFORMS)
        assert amd64["status"] == "pass", amd64["reasons"]
        assert amd64["smoke"]["ok"] and amd64["smoke"]["stdout"].strip() == "Hello, world!"
        assert arm64["smoke"] is None
        assert arm64["notes"] == [
            "smoke run not run: linux/arm64 is not this engine's platform (linux/amd64)"
        ]
