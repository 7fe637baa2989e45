"""`slim bake --output oci` of hello.c for linux/amd64 and linux/arm64 on the containerd-store
engine: the build stage cross-compiles on the build platform with Debian's cross toolchain
(the gcc-cross base: slim-standin/gcc:cross), no emulation (this machine has none); the
arm64 scratch-closure image carries the aarch64 loader and libc, collected by walking
DT_NEEDED in the cross sysroot; scratch-musl's program is linked by aarch64-linux-musl-gcc.
amd64 is smoke-run, arm64 reported as not run; the test itself runs each arm64 program with
qemu's user-mode emulator on the image's own files (loader and libraries included).

Most offline stand-in bases exist for linux/amd64 only, so the first test's runtimes are
scratch ones; the second uses the two bases standins.sh makes for both platforms on the
containerd-store engine (distroless:cc-multiarch, alpine:musl-multiarch)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.bake_support import (
    ELF_MACHINE,
    HELLO,
    LOADER,
    PLATFORMS,
    STANDIN_BASES,
    bake_oci,
    c_artifact,
    elf_interpreter,
    elf_machine,
    layout_manifests,
    run_foreign,
    unpack_image,
    write_project,
)

pytestmark = pytest.mark.docker

TRIPLET = {"linux/amd64": "x86_64-linux-gnu", "linux/arm64": "aarch64-linux-gnu"}


def test_c_cross_compiles_for_arm64_with_its_closure_collected_for_arm64(
    tmp_path: Path, docker_engine: None
) -> None:
    path = write_project(
        tmp_path / "project",
        {"hello": c_artifact(["scratch-glibc", "scratch-closure", "scratch-musl"])},
        "127.0.0.1:5000/crossc/engine",
        platforms=PLATFORMS,
    )
    layouts = tmp_path / "layouts"
    entries = bake_oci(path, layouts, tmp_path / "cache")
    names = ("hello-scratch-glibc", "hello-scratch-closure", "hello-scratch-musl")
    assert set(entries) == {(n, p) for n in names for p in PLATFORMS}
    for name in names:
        manifests = layout_manifests(layouts / name)
        assert set(manifests) == set(PLATFORMS)
        for platform in PLATFORMS:
            root = tmp_path / "roots" / name / platform
            files = unpack_image(layouts / name, manifests[platform], root)
            program = files["usr/local/bin/hello"]
            assert elf_machine(program) == ELF_MACHINE[platform], platform
            if name == "hello-scratch-closure":
                # The target's own loader and libc, and no library of another architecture.
                libraries = {p: d for p, d in files.items() if p.startswith(("lib", "usr/lib"))}
                assert elf_machine(libraries[LOADER[platform].lstrip("/")]) == ELF_MACHINE[platform]
                libc = libraries[f"lib/{TRIPLET[platform]}/libc.so.6"]
                assert elf_machine(libc) == ELF_MACHINE[platform]
                assert {elf_machine(d) for d in libraries.values()} == {ELF_MACHINE[platform]}
            else:
                assert elf_interpreter(program) is None  # static: glibc's or musl's libc in it
                assert not any(p.startswith(("lib/", "lib64/")) for p in files)
            if name == "hello-scratch-musl":
                assert b"GLIBC_" not in program  # musl's libc, not glibc's
            if platform != "linux/amd64":
                ran = run_foreign(root, "/usr/local/bin/hello", platform)
                assert (ran.returncode, ran.stdout.strip()) == (0, HELLO), ran.stderr
        amd64, arm64 = (entries[(name, p)] for p in PLATFORMS)
        assert amd64["status"] == "pass", amd64["reasons"]
        assert amd64["smoke"]["ok"] and amd64["smoke"]["stdout"].strip() == HELLO
        assert arm64["smoke"] is None
        assert arm64["notes"] == [
            "smoke run not run: linux/arm64 is not this engine's platform (linux/amd64)"
        ]


# Runtime bases with both platforms (scripts/standins.sh makes them on the containerd-store
# engine from Debian's amd64 and arm64 packages).
MULTIARCH_BASES = {
    "distroless-cc": {"image": "slim-standin/distroless:cc-multiarch", "platforms": PLATFORMS},
    "alpine": {"image": "slim-standin/alpine:musl-multiarch", "platforms": PLATFORMS},
}
BASE_LIBC = {
    ("hello-distroless-cc", "linux/amd64"): "lib/x86_64-linux-gnu/libc.so.6",
    ("hello-distroless-cc", "linux/arm64"): "lib/aarch64-linux-gnu/libc.so.6",
    ("hello-alpine", "linux/amd64"): "lib/ld-musl-x86_64.so.1",
    ("hello-alpine", "linux/arm64"): "lib/ld-musl-aarch64.so.1",
}
INTERPRETER = {
    ("hello-distroless-cc", "linux/amd64"): "/lib64/ld-linux-x86-64.so.2",
    ("hello-distroless-cc", "linux/arm64"): "/lib/ld-linux-aarch64.so.1",
    ("hello-alpine", "linux/amd64"): "/lib/ld-musl-x86_64.so.1",
    ("hello-alpine", "linux/arm64"): "/lib/ld-musl-aarch64.so.1",
}


def test_dynamic_c_runs_on_each_platforms_own_runtime_base(
    tmp_path: Path, docker_engine: None
) -> None:
    """distroless-cc (glibc) and alpine (musl) with a base of both platforms: each image's
    runtime stage is that platform's base, and the arm64 program runs on the arm64 base's
    own loader and libc."""
    path = write_project(
        tmp_path / "project",
        {"hello": c_artifact(["distroless-cc", "alpine"])},
        "127.0.0.1:5000/crossc/bases",
        platforms=PLATFORMS,
        bases={**STANDIN_BASES, **MULTIARCH_BASES},
    )
    layouts = tmp_path / "layouts"
    entries = bake_oci(path, layouts, tmp_path / "cache")
    assert set(entries) == set(BASE_LIBC)
    for (name, platform), libc in BASE_LIBC.items():
        root = tmp_path / "roots" / name / platform
        files = unpack_image(layouts / name, layout_manifests(layouts / name)[platform], root)
        program = files["usr/local/bin/hello"]
        assert elf_machine(program) == ELF_MACHINE[platform], (name, platform)
        assert elf_interpreter(program) == INTERPRETER[name, platform]
        assert elf_machine(files[libc]) == ELF_MACHINE[platform]  # the base of that platform
        if platform == "linux/amd64":
            assert entries[name, platform]["smoke"]["stdout"].strip() == HELLO
        else:
            ran = run_foreign(root, "/usr/local/bin/hello", platform)
            assert (ran.returncode, ran.stdout.strip()) == (0, HELLO), ran.stderr
        assert entries[name, platform]["status"] == "pass", entries[name, platform]["reasons"]


def test_cpp_closure_for_arm64_carries_libstdcxx_and_runs(
    tmp_path: Path, docker_engine: None
) -> None:
    """C++ on scratch-closure for both platforms: the arm64 closure is walked in the cross
    sysroot (libstdc++, libm, libgcc_s, libc, the loader) and the program runs on it."""
    project = tmp_path / "project"
    artifact = {
        "lang": "cpp",
        "context": "./cxxhello",
        "binary": "hello",
        "runtimes": ["scratch-closure"],
        "smoke": {"expect_stdout": HELLO},
    }
    path = write_project(
        project, {"cxx": artifact}, "127.0.0.1:5000/crossc/cxx", platforms=PLATFORMS
    )
    (project / "cxxhello").mkdir()
    (project / "cxxhello" / "hello.cpp").write_text(
        "#include <iostream>\n#include <string>\n"
        f'int main() {{ std::string s = "{HELLO}"; std::cout << s << std::endl; }}\n'
    )
    layouts = tmp_path / "layouts"
    entries = bake_oci(path, layouts, tmp_path / "cache")
    assert entries["cxx-scratch-closure", "linux/amd64"]["smoke"]["ok"]
    manifest = layout_manifests(layouts / "cxx-scratch-closure")["linux/arm64"]
    root = tmp_path / "root"
    files = unpack_image(layouts / "cxx-scratch-closure", manifest, root)
    libraries = {p.rsplit("/", 1)[-1] for p in files if p.startswith("lib/")}
    assert {"libstdc++.so.6", "libgcc_s.so.1", "libc.so.6", "ld-linux-aarch64.so.1"} <= libraries
    assert {elf_machine(d) for p, d in files.items() if p.startswith("lib/")} == {0xB7}
    ran = run_foreign(root, "/usr/local/bin/hello", "linux/arm64")
    assert (ran.returncode, ran.stdout.strip()) == (0, HELLO), ran.stderr
