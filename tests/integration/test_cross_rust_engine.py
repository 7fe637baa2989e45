"""`slim bake --output oci` of a Rust hello for linux/amd64 and linux/arm64 on the
containerd-store engine: cargo cross-compiles on the build platform (the rust-cross base:
slim-standin/rust:cross, Debian's rustc with libstd-rust-dev:arm64's standard library and
gcc-aarch64-linux-gnu as its linker), no emulation. amd64 is smoke-run; each arm64 program
runs here under qemu's user-mode emulator on the image's own files, so the arm64
scratch-closure image is proven to carry what the program needs (libgcc_s, libc, loader).

The offline stand-in bases exist for linux/amd64 only, so the runtimes are scratch ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.bake_support import (
    ELF_MACHINE,
    HELLO,
    LOADER,
    PLATFORMS,
    bake_oci,
    elf_interpreter,
    elf_machine,
    layout_manifests,
    run_foreign,
    unpack_image,
    write_project,
)

pytestmark = pytest.mark.docker


def _rust_hello(root: Path) -> None:
    (root / "rhello" / "src").mkdir(parents=True)
    (root / "rhello" / "Cargo.toml").write_text(
        '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    (root / "rhello" / "src" / "main.rs").write_text(f'fn main() {{ println!("{HELLO}"); }}\n')


def test_rust_cross_compiles_for_arm64_and_its_programs_run_there(
    tmp_path: Path, docker_engine: None
) -> None:
    project = tmp_path / "project"
    artifact = {
        "lang": "rust",
        "context": "./rhello",
        "binary": "hello",
        "runtimes": ["scratch-glibc", "scratch-closure"],
        "smoke": {"expect_stdout": HELLO},
    }
    path = write_project(
        project, {"rhello": artifact}, "127.0.0.1:5000/crossrust/engine", platforms=PLATFORMS
    )
    _rust_hello(project)
    layouts = tmp_path / "layouts"
    entries = bake_oci(path, layouts, tmp_path / "cache")
    names = ("rhello-scratch-glibc", "rhello-scratch-closure")
    assert set(entries) == {(n, p) for n in names for p in PLATFORMS}
    for name in names:
        manifests = layout_manifests(layouts / name)
        assert set(manifests) == set(PLATFORMS)
        for platform in PLATFORMS:
            root = tmp_path / "roots" / name / platform
            files = unpack_image(layouts / name, manifests[platform], root)
            program = files["usr/local/bin/hello"]
            assert elf_machine(program) == ELF_MACHINE[platform], (name, platform)
            static = name == "rhello-scratch-glibc"  # +crt-static
            assert elf_interpreter(program) == (None if static else LOADER[platform])
            libraries = {p: d for p, d in files.items() if p.startswith(("lib", "usr/lib"))}
            if static:
                assert not libraries
            else:  # std unwinds through libgcc_s: the closure has it, of this architecture
                names = {p.rsplit("/", 1)[-1] for p in libraries}
                assert {"libgcc_s.so.1", "libc.so.6", LOADER[platform].rsplit("/", 1)[-1]} <= names
                assert {elf_machine(d) for d in libraries.values()} == {ELF_MACHINE[platform]}
            if platform != "linux/amd64":
                ran = run_foreign(root, "/usr/local/bin/hello", platform)
                assert (ran.returncode, ran.stdout.strip()) == (0, HELLO), ran.stderr
        amd64, arm64 = (entries[(name, p)] for p in PLATFORMS)
        assert amd64["status"] == "pass", amd64["reasons"]
        assert amd64["smoke"]["ok"] and amd64["smoke"]["stdout"].strip() == HELLO
        assert arm64["smoke"] is None and arm64["status"] == "pass"
