"""Helpers for the `slim bake` integration tests: throw-away projects on the offline
stand-in bases, image tags unique to one test run, and running slim for real."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from slim_bake.engine import client

ROOT = Path(__file__).resolve().parents[2]
HELLO_C = (ROOT / "examples" / "hello" / "hello.c").read_text()
GO_HELLO = Path(__file__).resolve().parents[1] / "data" / "go-hello"
STANDIN_BASES: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "standin_bases.yaml").read_text()
)
HELLO = "Hello, world!"

# Every runtime, and every -debug companion, that the stand-ins make buildable here
# (ubuntu, alpine and distroless map to stand-ins: see tests/support/standin_bases.yaml).
ALL_RUNTIMES = [
    "single-stage",
    "ubuntu",
    "debian-slim",
    "alpine",
    "alpine-static",
    "busybox-glibc",
    "distroless-static",
    "distroless-cc",
    "scratch-glibc",
    "scratch-musl",
    "scratch-closure",
    "distroless-static-debug",
    "distroless-cc-debug",
    "scratch-glibc-debug",
    "scratch-musl-debug",
    "scratch-closure-debug",
]


def unique_registry(purpose: str) -> str:
    """An image name prefix no other test run uses, so runs never measure each other's images."""
    return f"slim-test.local/{purpose}-{uuid.uuid4().hex[:10]}"


def c_artifact(runtimes: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "lang": "c",
        "context": "./hello",
        "runtimes": runtimes,
        "smoke": {"expect_stdout": HELLO},
        **extra,
    }


def go_artifact(runtimes: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "lang": "go",
        "context": "./gohello",
        "binary": "hello",
        "runtimes": runtimes,
        "smoke": {"expect_stdout": HELLO},
        **extra,
    }


def write_project(root: Path, artifacts: dict[str, Any], registry: str, **top: Any) -> Path:
    """slim.yaml with the stand-in bases, hello.c in ./hello and the Go hello in ./gohello."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "hello").mkdir(exist_ok=True)
    (root / "hello" / "hello.c").write_text(HELLO_C)
    if not (root / "gohello").exists():
        shutil.copytree(GO_HELLO, root / "gohello")
    config = {
        "version": 1,
        "registry": registry,
        "bases": STANDIN_BASES,
        **top,
        "artifacts": artifacts,
    }
    path = root / "slim.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_slim(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`slim ARGS` as a user runs it, in a new process."""
    return subprocess.run(
        [sys.executable, "-m", "slim_bake", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=900,
    )


def remove_images(tags: Iterable[str], host: str | None = None) -> None:
    """Remove the images a test made (the build cache keeps what a later run needs)."""
    env = {**os.environ, "DOCKER_HOST": host} if host else None
    tags = list(tags)
    if tags:
        subprocess.run(
            ["docker", "image", "rm", "-f", *tags], capture_output=True, check=False, env=env
        )


def file_from_image(image: str, path: str) -> bytes:
    container = client().containers.create(image)
    try:
        chunks, _ = container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            member = tar.extractfile(PurePosixPath(path).name)
            assert member is not None
            return member.read()
    finally:
        container.remove(force=True)


def elf_interpreter(binary: bytes) -> str | None:
    """PT_INTERP of a 64-bit little-endian ELF file: the loader a dynamic binary names."""
    assert binary[:6] == b"\x7fELF\x02\x01", "not a 64-bit little-endian ELF file"
    (phoff,) = struct.unpack_from("<Q", binary, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", binary, 0x36)
    for i in range(phnum):
        entry = phoff + i * phentsize
        if struct.unpack_from("<I", binary, entry)[0] == 3:  # PT_INTERP
            offset, _, _, size = struct.unpack_from("<QQQQ", binary, entry + 8)
            return binary[offset : offset + size].rstrip(b"\0").decode()
    return None


def layout_blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()


def layout_manifests(layout: Path) -> dict[str, dict[str, Any]]:
    """Each platform's image manifest in an OCI layout buildx wrote (index → index →
    manifests), by linux/ARCH."""
    top = json.loads((layout / "index.json").read_text())
    index = json.loads(layout_blob(layout, top["manifests"][0]["digest"]))
    found = {}
    for entry in index["manifests"]:
        platform = entry.get("platform", {})
        if platform.get("os") == "linux":
            name = f"linux/{platform['architecture']}"
            found[name] = json.loads(layout_blob(layout, entry["digest"]))
    return found


PLATFORMS = ["linux/amd64", "linux/arm64"]  # the two of the cross-build tests
ELF_MACHINE = {"linux/amd64": 0x3E, "linux/arm64": 0xB7}  # EM_X86_64, EM_AARCH64
# The dynamic loader a glibc program of each platform names (PT_INTERP).
LOADER = {"linux/amd64": "/lib64/ld-linux-x86-64.so.2", "linux/arm64": "/lib/ld-linux-aarch64.so.1"}
QEMU = {"linux/arm64": "qemu-aarch64"}  # Debian's qemu-user (scripts/test installs it)


def elf_machine(data: bytes) -> int | None:
    """e_machine of an ELF file; None: not ELF."""
    return struct.unpack_from("<H", data, 18)[0] if data[:4] == b"\x7fELF" else None


def unpack_image(layout: Path, manifest: dict[str, Any], into: Path) -> dict[str, bytes]:
    """The image's layers unpacked into `into` (modes and links kept), and every regular
    file's bytes by path (the images here are built on scratch: no whiteouts)."""
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
            tar.extractall(into, filter="tar")
    return found


def run_foreign(root: Path, program: str, platform: str) -> subprocess.CompletedProcess[str]:
    """`program` of an unpacked image of another architecture, run by qemu's user-mode
    emulator with `root` as its / (its loader and libraries are the image's own)."""
    return subprocess.run(
        [QEMU[platform], "-L", str(root), str(root / program.lstrip("/"))],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


CONTAINERD = "unix:///run/slim-containerd/docker.sock"  # the engine with the containerd image store


def bake_on_containerd(path: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`slim bake --config PATH ARGS --json` on the containerd-store engine, with its own
    measurement cache, this checkout's slim first on the import path."""
    return run_slim(
        *("bake", "--config", str(path), *args, "--json"),
        env={
            "DOCKER_HOST": CONTAINERD,
            "SLIM_CACHE_DIR": str(cache),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        },
    )


def bake_oci(path: Path, layouts: Path, cache: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """`--output oci` into `layouts` on the containerd-store engine, which must succeed: the
    report's entries by target name and platform."""
    run = bake_on_containerd(path, cache, "--output", "oci", "--oci-dir", str(layouts))
    assert run.returncode == 0, run.stderr
    return {(t["name"], t["platform"]): t for t in json.loads(run.stdout)["targets"]}


def chosen_triplet(step: str, arch: str) -> subprocess.CompletedProcess[str]:
    """A cross build's first command (the triplet chosen from TARGETARCH) run as the build
    stage runs it for TARGETARCH=arch; its stdout is the triplet it chose."""
    return subprocess.run(
        ["sh", "-c", f'set -e\n{step}\necho "$SLIM_TRIPLET"'],
        env={"SLIM_TARGETARCH": arch, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
