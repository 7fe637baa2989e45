"""Rust on several platforms (issue 14): the glibc flavours cross-compile on the build
platform (the rust-cross base: the target's standard library and Debian's cross gcc as
the linker), cargo's --target chosen from TARGETARCH in the build script."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.bake_support import chosen_triplet, write_project
from support.buildkit_rules import parse, run_commands

from slim_bake import bake, presets
from slim_bake.config import load_config
from slim_bake.plan import Plan, make_plan
from slim_bake.render.dockerfile import render_dockerfile

TWO = ["linux/amd64", "linux/arm64"]


def _plan(tmp_path: Path, runtimes: list[str], platforms: list[str]) -> Plan:
    artifact = {"lang": "rust", "context": "./hello", "binary": "hello", "runtimes": runtimes}
    path = write_project(tmp_path, {"hello": artifact}, "127.0.0.1:5000/crossrust/unit",
                         platforms=platforms)  # fmt: skip
    return make_plan(load_config(path))


def _build(plan: Plan, runtime: str) -> tuple[str, list[str]]:
    """The build stage's FROM line and its build commands, as BuildKit reads the file."""
    target = next(t for t in plan.targets if t.runtime == runtime)
    text = render_dockerfile(target, "slim.yaml", None)
    instructions = parse(text)
    froms = [i.line for i in instructions if i.keyword == "FROM"]
    runs = [[c for _, body in i.heredocs for c in run_commands(body)] for i in instructions]
    return froms[0], next(r for r in runs if r and r[0] == "mkdir -p /out")


@pytest.mark.parametrize("runtime", ["scratch-glibc", "scratch-closure", "distroless-static"])
def test_rust_cross_compiles_with_cargo_target_from_the_target_architecture(
    tmp_path: Path, runtime: str
) -> None:
    plan = _plan(tmp_path, [runtime], TWO)
    bake.refuse_native_only(plan, list(plan.targets))  # accepted: it cross-compiles
    first, commands = _build(plan, runtime)
    assert first == "FROM --platform=$BUILDPLATFORM slim-standin/rust:cross AS build"
    assert chosen_triplet(commands[1], "arm64").stdout == "aarch64-unknown-linux-gnu\n"
    assert chosen_triplet(commands[1], "amd64").stdout == "x86_64-unknown-linux-gnu\n"
    unknown = chosen_triplet(commands[1], "riscv64")
    assert unknown.returncode == 1 and "slim: no cross compiler for linux/riscv64" in unknown.stderr
    cargo = commands[2]
    assert 'cargo build --release --target "$SLIM_TRIPLET"' in cargo
    assert "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc" in cargo
    assert "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=x86_64-linux-gnu-gcc" in cargo
    assert commands[3] == "cp target/$SLIM_TRIPLET/release/hello /out/hello"


def test_one_platform_builds_rust_natively_as_before(tmp_path: Path) -> None:
    for platforms in ([], ["linux/arm64"]):
        first, commands = _build(_plan(tmp_path, ["scratch-glibc"], platforms), "scratch-glibc")
        assert first == "FROM slim-standin/rust:bookworm AS build"
        assert commands[1] == 'cargo build --release --target "$(uname -m)-unknown-linux-gnu"'
        assert not any("SLIM_TRIPLET" in c for c in commands)


def test_the_rust_cross_base_is_data() -> None:
    rust = presets.languages()["rust"].flavours
    for name in ("glibc-dynamic", "glibc-static"):
        cross = rust[name].cross
        assert cross is not None and cross.toolchain == "rust-cross"
        assert cross.output == "target/$SLIM_TRIPLET/release/{name}"
    assert rust["musl-static"].cross is None and rust["musl-dynamic"].cross is None
    setup = presets.bases()["rust-cross"].setup or ""
    assert 'rustup target add "$target"' in setup and "gcc-aarch64-linux-gnu" in setup
