"""C and C++ on several platforms (issue 14): the glibc flavours (and C's musl ones)
cross-compile on the build platform with Debian's cross toolchains (the gcc-cross base),
the compiler chosen from TARGETARCH in the build script; what cannot cross-compile is
refused at `platforms:`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.bake_support import STANDIN_BASES, c_artifact, chosen_triplet, write_project
from support.buildkit_rules import parse, run_commands

from slim_bake import bake, presets
from slim_bake.config import load_config
from slim_bake.errors import ConfigError
from slim_bake.plan import Plan, Target, make_plan
from slim_bake.render.dockerfile import render_dockerfile

TWO = ["linux/amd64", "linux/arm64"]
REGISTRY = "127.0.0.1:5000/crossc/unit"


def _plan(tmp_path: Path, artifacts: dict[str, Any], **top: Any) -> Plan:
    return make_plan(load_config(write_project(tmp_path, artifacts, REGISTRY, **top)))


def _target(plan: Plan, name: str) -> Target:
    return next(t for t in plan.targets if t.name == name)


def _stages(text: str) -> dict[str, list[tuple[str, str, list[str]]]]:
    """Each stage's FROM line and instructions (keyword, line, heredoc commands), as
    BuildKit reads the file."""
    found: dict[str, list[tuple[str, str, list[str]]]] = {}
    current: list[tuple[str, str, list[str]]] = []
    for ins in parse(text):
        commands = [c for _, body in ins.heredocs for c in run_commands(body)]
        if ins.keyword == "FROM":
            current = found.setdefault(ins.line.split()[-1], [])
        current.append((ins.keyword, ins.line, commands))
    return found


def _build_commands(text: str) -> list[str]:
    runs = [c for keyword, _, c in _stages(text)["build"] if keyword == "RUN"]
    return next(c for c in runs if c[0] == "mkdir -p /out")


def test_c_on_two_platforms_builds_on_the_build_platform_with_the_cross_toolchain(
    tmp_path: Path,
) -> None:
    plan = _plan(tmp_path, {"hello": c_artifact(["scratch-closure"])}, platforms=TWO)
    text = render_dockerfile(_target(plan, "hello-scratch-closure"), "slim.yaml", None)
    stages = _stages(text)
    build = [line for _, line, _ in stages["build"]]
    assert build[0] == "FROM --platform=$BUILDPLATFORM slim-standin/gcc:cross AS build"
    assert "ARG TARGETARCH" in build and "ENV SLIM_TARGETARCH=$TARGETARCH" in build
    commands = _build_commands(text)
    assert commands[2].startswith('"$SLIM_TRIPLET"-gcc ') and "-o /out/hello" in commands[2]
    assert commands[3] == '"$SLIM_TRIPLET"-strip --strip-all /out/hello'
    # The closure is collected in the build stage's image (on the build platform), the
    # runtime stage is the target platform's scratch.
    assert stages["closure"][0][1] == "FROM build AS closure"
    assert stages["runtime"][0][1] == "FROM scratch AS runtime"


def _triplet(text: str, arch: str) -> subprocess.CompletedProcess[str]:
    """The build script's first command run as BuildKit would for TARGETARCH=arch."""
    return chosen_triplet(_build_commands(text)[1], arch)


def test_the_compiler_is_chosen_from_the_target_architecture(tmp_path: Path) -> None:
    plan = _plan(tmp_path, {"hello": c_artifact(["scratch-glibc"])}, platforms=TWO)
    text = render_dockerfile(_target(plan, "hello-scratch-glibc"), "slim.yaml", None)
    assert _triplet(text, "arm64").stdout == "aarch64-linux-gnu\n"
    assert _triplet(text, "amd64").stdout == "x86_64-linux-gnu\n"
    unknown = _triplet(text, "riscv64")
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert "slim: no cross compiler for linux/riscv64" in unknown.stderr
    assert "-static" in _build_commands(text)[2]  # scratch-glibc: the static flavour


def test_every_build_system_and_cpp_use_the_triplet_tools(tmp_path: Path) -> None:
    artifacts = {
        "hello": c_artifact(["distroless-static"], build={"system": "make"}),
        "cxx": {"lang": "cpp", "context": "./hello", "runtimes": ["scratch-glibc"]},
    }
    plan = _plan(tmp_path, artifacts, platforms=TWO)
    make = _build_commands(render_dockerfile(_target(plan, "hello-distroless-static"), "s", None))
    assert 'CC="$SLIM_TRIPLET"-gcc CXX="$SLIM_TRIPLET"-g++' in make[2]
    cpp = _build_commands(render_dockerfile(_target(plan, "cxx-scratch-glibc"), "s", None))
    assert cpp[2].startswith('"$SLIM_TRIPLET"-g++ -static ')


def test_one_platform_builds_c_natively_as_before(tmp_path: Path) -> None:
    for platforms in ([], ["linux/arm64"]):
        plan = _plan(tmp_path, {"hello": c_artifact(["scratch-closure"])}, platforms=platforms)
        text = render_dockerfile(_target(plan, "hello-scratch-closure"), "slim.yaml", None)
        assert "FROM slim-standin/gcc:bookworm AS build\n" in text
        assert "TARGETARCH" not in text and "SLIM_TRIPLET" not in text
        assert _build_commands(text)[1].startswith("gcc ")


def test_cross_compiling_c_is_data_in_the_language_presets() -> None:
    for lang in ("c", "cpp"):
        flavours = presets.languages()[lang].flavours
        for name in ("glibc-static", "glibc-dynamic"):
            cross = flavours[name].cross
            assert cross is not None and cross.toolchain == "gcc-cross"
            assert cross.triplets == {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
            assert set(cross.tools) == {"cc", "cxx", "strip"}
    c_musl = presets.languages()["c"].flavours
    for name in ("musl-static", "musl-dynamic"):
        cross = c_musl[name].cross
        assert cross is not None and cross.toolchain == "gcc-cross"
        assert cross.triplets == {"amd64": "x86_64-linux-musl", "arm64": "aarch64-linux-musl"}
    # musl C++ is Alpine's g++ (musl-gxx): no cross compiler.
    cpp = presets.languages()["cpp"].flavours
    assert cpp["musl-static"].cross is None and cpp["musl-dynamic"].cross is None
    setup = presets.bases()["gcc-cross"].setup or ""
    assert "gcc-aarch64-linux-gnu" in setup and '"musl-dev:$other"' in setup


def test_musl_c_cross_compiles_with_the_musl_cross_compiler_of_the_target(
    tmp_path: Path,
) -> None:
    plan = _plan(tmp_path, {"hello": c_artifact(["scratch-musl"])}, platforms=TWO)
    text = render_dockerfile(_target(plan, "hello-scratch-musl"), "slim.yaml", None)
    build = [line for _, line, _ in _stages(text)["build"]]
    assert build[0] == "FROM --platform=$BUILDPLATFORM slim-standin/gcc:cross AS build"
    commands = _build_commands(text)
    assert commands[2].startswith('"$SLIM_TRIPLET"-gcc -static ')
    assert commands[3] == '"$SLIM_TRIPLET"-strip --strip-all /out/hello'
    assert _triplet(text, "arm64").stdout == "aarch64-linux-musl\n"
    assert _triplet(text, "amd64").stdout == "x86_64-linux-musl\n"
    # No musl g++ exists: CMake is given the build platform's, which a C program never runs.
    cmake = _plan(tmp_path, {"h": c_artifact(["scratch-musl"], build={"system": "cmake"})},
                  platforms=TWO)  # fmt: skip
    configure = _build_commands(render_dockerfile(cmake.targets[0], "slim.yaml", None))[2]
    assert '-DCMAKE_C_COMPILER="$SLIM_TRIPLET"-gcc -DCMAKE_CXX_COMPILER=g++ ' in configure


def test_musl_c_with_build_packages_is_refused_on_two_platforms(tmp_path: Path) -> None:
    artifact = c_artifact(["scratch-musl", "scratch-glibc"], build={"packages": ["zlib1g-dev"]})
    message = _refusal(_plan(tmp_path, {"hello": artifact}, platforms=TWO))
    assert "hello-scratch-musl would build only by emulation" in message
    assert "hello-scratch-glibc" not in message  # glibc's cross build installs them
    assert "without build.packages, which would be glibc libraries" in message


def test_the_setup_runs_once_for_every_platform(tmp_path: Path) -> None:
    """The real gcc-cross base: its setup and build.packages come before TARGETARCH is
    declared, so the two platforms' build stages share them."""
    artifact = c_artifact(["scratch-glibc"], build={"packages": ["zlib1g-dev"]})
    plan = _plan(tmp_path, {"hello": artifact}, platforms=TWO, bases={})
    build = _stages(render_dockerfile(plan.targets[0], "slim.yaml", None))["build"]
    keywords = [(keyword, line) for keyword, line, _ in build]
    runs = [i for i, (k, _) in enumerate(keywords) if k == "RUN"]
    argument = keywords.index(("ARG", "ARG TARGETARCH"))
    assert runs[0] < runs[1] < argument < runs[2]  # setup, packages, ARG, the build
    assert "dpkg --add-architecture" in build[runs[0]][2][0]


def _refusal(plan: Plan) -> str:
    with pytest.raises(ConfigError) as caught:
        bake.refuse_native_only(plan, list(plan.targets))
    assert caught.value.exit_code == 2
    problem = caught.value.diagnostics[0]  # alpine's base is refused too, after it
    lines = plan.config.path.read_text().splitlines()
    assert lines[problem.line - 1] == "platforms:"
    return problem.message


def test_c_glibc_runtimes_are_accepted_on_two_platforms(tmp_path: Path) -> None:
    runtimes = ["scratch-glibc", "scratch-closure", "distroless-static", "debian-slim"]
    # The real debian:bookworm-slim is multi-platform (no `platforms:` in the presets).
    bases = {**STANDIN_BASES, "debian-slim": "debian:bookworm-slim"}
    plan = _plan(tmp_path, {"hello": c_artifact(runtimes)}, platforms=TWO, bases=bases)
    bake.refuse_native_only(plan, list(plan.targets))  # no exception: all cross-compile
    assert all(t.build.cross == {"SLIM_TARGETARCH": "TARGETARCH"} for t in plan.targets)


def test_a_runtime_base_without_one_of_the_platforms_is_refused(tmp_path: Path) -> None:
    runtimes = ["scratch-closure", "distroless-cc", "busybox-glibc"]
    plan = _plan(tmp_path, {"hello": c_artifact(runtimes)}, platforms=TWO)
    with pytest.raises(ConfigError) as caught:
        bake.refuse_native_only(plan, list(plan.targets))
    messages = [d.message for d in caught.value.diagnostics]
    assert messages == [
        "hello-distroless-cc: runtime distroless-cc's base slim-standin/distroless:cc offers"
        " linux/amd64 only (its `platforms:` in bases), not linux/arm64: name a base image"
        " that has them, or a scratch runtime",
        "hello-busybox-glibc: runtime busybox-glibc's base slim-standin/busybox:glibc offers"
        " linux/amd64 only (its `platforms:` in bases), not linux/arm64: name a base image"
        " that has them, or a scratch runtime",
    ]
    lines = plan.config.path.read_text().splitlines()
    assert all(lines[d.line - 1] == "platforms:" for d in caught.value.diagnostics)
    # One platform, the base's: nothing to refuse.
    one = _plan(tmp_path, {"hello": c_artifact(runtimes)}, platforms=["linux/amd64"])
    bake.refuse_native_only(one, list(one.targets))


@pytest.mark.parametrize(
    ("lang", "runtime", "reason"),
    [
        ("c", "scratch-closure-debug", "any runtime but a -debug or single-stage one"),
        ("c", "single-stage", "any runtime but a -debug or single-stage one"),
        ("cpp", "scratch-musl", "musl C++ is Alpine's g++, which has no cross compiler"),
        ("rust", "scratch-musl", "slim has no cross build for musl Rust"),
        ("rust", "single-stage", "not a musl, -debug or single-stage one"),
    ],
)
def test_what_cannot_cross_compile_is_refused_with_its_runtime_and_platforms(
    tmp_path: Path, lang: str, runtime: str, reason: str
) -> None:
    artifact = {"lang": lang, "context": "./hello", "runtimes": [runtime]}
    message = _refusal(_plan(tmp_path, {"app": artifact}, platforms=TWO))
    assert f"platforms linux/amd64, linux/arm64 with lang {lang} needs a cross" in message
    assert f"app-{runtime} would build only by emulation" in message
    assert reason in message
