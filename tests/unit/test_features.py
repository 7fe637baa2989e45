"""Issue 12's configuration, rendered: replace vs append, build systems, C++, build
packages, several executables, runtime contents, secrets and SSH. Each test parses the
generated Dockerfile (dockerfile-parse, then shell words with shlex) or bake file (hcl2)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.features_helpers import REPRO_CFLAGS, REPRO_LDFLAGS, c, render
from support.render_helpers import load_hcl, parse, stages

from slim_bake.errors import ConfigError


def dockerfile(files: dict[str, str], target: str) -> dict[str, list[dict[str, Any]]]:
    return stages(parse(files[f"dockerfiles/{target}.Dockerfile"]))


def run_mounts_and_commands(run: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """A RUN's --mount options and its heredoc's commands, each as the shell's argv words."""
    words = run["value"].split()
    mounts = [w.removeprefix("--mount=") for w in words if w.startswith("--mount=")]
    # Lines end at \n only, as for BuildKit and the shell (not at \f as str.splitlines).
    lines = run["script"].rstrip("\n").split("\n")
    assert lines[0] in ("set -e", "set -eu"), lines[:1]
    return mounts, [shlex.split(line) for line in lines[1:]]


def build_commands(stage: list[dict[str, Any]]) -> list[list[str]]:
    """The commands of the build stage's last RUN (the build itself)."""
    runs = [i for i in stage if i["instruction"] == "RUN"]
    return run_mounts_and_commands(runs[-1])[1]


def one(commands: list[list[str]], program: str) -> list[str]:
    [command] = [c for c in commands if c and c[0] == program]
    return command


# --- replace vs append -------------------------------------------------------------------


def test_a_users_sources_replace_the_default_glob(tmp_path: Path) -> None:
    """The reported bug: `sources: [./all.c]` beside split sources compiled both."""
    files = render(tmp_path, {"app": c(["scratch-glibc"], build={"sources": ["./all.c"]})})
    gcc = one(build_commands(dockerfile(files, "app-scratch-glibc")["build"]), "gcc")
    assert "./all.c" in gcc and "./*.c" not in gcc


def test_append_and_replace_ask_for_the_other_behaviour(tmp_path: Path) -> None:
    build = {"sources": {"append": ["./gen/extra.c"]}, "cflags": {"replace": ["-O1"]}}
    files = render(tmp_path, {"app": c(["debian-slim"], build=build)})
    gcc = one(build_commands(dockerfile(files, "app-debian-slim")["build"]), "gcc")
    assert gcc.index("./*.c") < gcc.index("./gen/extra.c")
    assert "-O1" in gcc and "-O2" not in gcc  # the profile's -O2 is replaced too


def test_flag_lists_extend_the_profile(tmp_path: Path) -> None:
    files = render(tmp_path, {"app": c(["scratch-musl"], build={"cflags": ["-Wall"]})})
    gcc = one(build_commands(dockerfile(files, "app-scratch-musl")["build"]), "gcc")
    assert gcc.index("-O2") < gcc.index("-Wall") and "-static" in gcc


def test_replacing_ldflags_keeps_the_static_link_of_the_runtime(tmp_path: Path) -> None:
    build = {"ldflags": {"replace": ["-lm"]}}
    files = render(tmp_path, {"app": c(["scratch-glibc"], build=build)})
    gcc = one(build_commands(dockerfile(files, "app-scratch-glibc")["build"]), "gcc")
    assert "-static" in gcc and "-lm" in gcc


# --- build systems -------------------------------------------------------------------------


def assignments(command: list[str]) -> dict[str, str]:
    return dict(w.split("=", 1) for w in command if "=" in w and not w.startswith("-"))


def test_make_gets_slims_compiler_flags_and_static_link(tmp_path: Path) -> None:
    build = {"system": "make", "cflags": ["-Wall"], "make_flags": ["V=1", "all"]}
    files = render(tmp_path, {"app": c(["scratch-glibc", "debian-slim"], build=build)})
    commands = build_commands(dockerfile(files, "app-scratch-glibc")["build"])
    make = one(commands, "make")
    assert make[1].startswith("-j")
    variables = assignments(make)
    assert variables["CC"] == "gcc" and variables["CXX"] == "g++"
    assert variables["CFLAGS"] == f"{REPRO_CFLAGS} -O2 -Wall"
    assert variables["LDFLAGS"] == f"-static {REPRO_LDFLAGS}"
    assert make[-2:] == ["V=1", "all"]
    assert ["cp", "/src/app", "/out/app"] in commands  # no install: the Makefile's output
    dynamic = assignments(
        one(build_commands(dockerfile(files, "app-debian-slim")["build"]), "make")
    )
    assert dynamic["LDFLAGS"] == REPRO_LDFLAGS


def test_make_install_and_named_outputs(tmp_path: Path) -> None:
    build = {"system": "make", "install": True, "outputs": {"app": "/install/usr/bin/app"}}
    files = render(tmp_path, {"app": c(["scratch-glibc"], build=build)})
    commands = build_commands(dockerfile(files, "app-scratch-glibc")["build"])
    install = [c for c in commands if c[:1] == ["make"] and "install" in c]
    assert install and "DESTDIR=/install" in install[0]
    assert ["cp", "/install/usr/bin/app", "/out/app"] in commands


def test_cmake_passes_compiler_flags_linker_flags_and_installs(tmp_path: Path) -> None:
    build = {"system": "cmake", "cmake_flags": ["-DBUILD_TESTING=OFF"]}
    files = render(tmp_path, {"app": c(["scratch-glibc"], profile="min", build=build)})
    commands = build_commands(dockerfile(files, "app-scratch-glibc")["build"])
    [configure, build_step] = [c for c in commands if c[:1] == ["cmake"]]
    defines = dict(w[2:].split("=", 1) for w in configure if w.startswith("-D"))
    assert defines["CMAKE_BUILD_TYPE"] == "None"  # slim's flags only, no -O3 from Release
    assert defines["CMAKE_C_COMPILER"] == "gcc" and defines["CMAKE_CXX_COMPILER"] == "g++"
    assert defines["CMAKE_C_FLAGS"].startswith(f"{REPRO_CFLAGS} -Os -ffunction-sections")
    linker = defines["CMAKE_EXE_LINKER_FLAGS"]
    assert linker.startswith(f"-static {REPRO_LDFLAGS} -Wl,--gc-sections")
    assert defines["BUILD_SHARED_LIBS"] == "OFF" and defines["BUILD_TESTING"] == "OFF"
    assert build_step[:3] == ["cmake", "--build", "/tmp/slim-build"]
    assert ["DESTDIR=/install", "cmake", "--install", "/tmp/slim-build"] in commands
    assert ["cp", "/install/usr/local/bin/app", "/out/app"] in commands
    assert ["strip", "--strip-all", "/out/app"] in commands


def test_meson_static_uses_static_libraries_and_plain_buildtype(tmp_path: Path) -> None:
    files = render(tmp_path, {"app": c(["scratch-musl"], build={"system": "meson"})})
    commands = build_commands(dockerfile(files, "app-scratch-musl")["build"])
    [setup] = [c for c in commands if "meson" in c and "setup" in c]
    env = assignments(setup[: setup.index("meson")])
    # musl-gcc's preset is Alpine's gcc (a musl toolchain)
    assert env == {
        "CC": "gcc",
        "CXX": "g++",
        "CFLAGS": f"{REPRO_CFLAGS} -O2",
        "CXXFLAGS": REPRO_CFLAGS,
        "LDFLAGS": f"-static {REPRO_LDFLAGS}",
    }
    assert "--default-library=static" in setup and "--buildtype=plain" in setup
    assert ["meson", "install", "-C", "/tmp/slim-build", "--destdir", "/install"] in commands


def test_autotools_configures_with_the_standard_variables(tmp_path: Path) -> None:
    build = {"system": "autotools", "configure_flags": ["--disable-nls"]}
    files = render(tmp_path, {"app": c(["scratch-glibc"], build=build)})
    commands = build_commands(dockerfile(files, "app-scratch-glibc")["build"])
    [configure] = [c for c in commands if c[:1] == ["./configure"]]
    variables = assignments(configure)
    assert "--prefix=/usr/local" in configure and configure[-1] == "--disable-nls"
    assert variables["CC"] == "gcc" and variables["LDFLAGS"] == f"-static {REPRO_LDFLAGS}"
    assert ["make", "DESTDIR=/install", "install"] in commands


def test_install_without_a_build_system_and_unknown_system_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"build\.install: install needs a build system"):
        render(tmp_path, {"app": c(["scratch-glibc"], build={"install": True})})
    with pytest.raises(ConfigError, match=r"build\.system"):
        render(tmp_path, {"app": c(["scratch-glibc"], build={"system": "bazel"})})
    with pytest.raises(ConfigError, match="'system' is not a build setting of go"):
        render(tmp_path, {"app": {"lang": "go", "runtimes": ["scratch-glibc"],
                                  "build": {"system": "make"}}})  # fmt: skip


# --- C++ ------------------------------------------------------------------------------------


def test_cpp_builds_with_gxx_static_for_static_runtimes_and_min_flags(tmp_path: Path) -> None:
    artifact = {"lang": "cpp", "runtimes": ["scratch-glibc", "scratch-closure"], "profile": "min"}
    files = render(tmp_path, {"app": artifact})
    static = one(build_commands(dockerfile(files, "app-scratch-glibc")["build"]), "g++")
    assert "-static" in static and "./*.cpp" in static
    for flag in ("-Os", "-ffunction-sections", "-fdata-sections", "-Wl,--gc-sections"):
        assert flag in static
    assert "-fno-asynchronous-unwind-tables" not in static  # exceptions unwind through them
    dynamic = one(build_commands(dockerfile(files, "app-scratch-closure")["build"]), "g++")
    assert "-static" not in dynamic


def test_cpp_musl_uses_alpines_gxx(tmp_path: Path) -> None:
    files = render(tmp_path, {"app": {"lang": "cpp", "runtimes": ["scratch-musl"]}})
    build = dockerfile(files, "app-scratch-musl")["build"]
    text = files["dockerfiles/app-scratch-musl.Dockerfile"]
    assert "FROM alpine:3.20 AS build" in text
    setup = next(i for i in build if i["instruction"] == "RUN")
    assert "g++" in run_mounts_and_commands(setup)[1][0]  # apk add g++ ...


# --- packages and caches --------------------------------------------------------------------


def test_packages_are_installed_with_apt_and_cached_before_the_sources(tmp_path: Path) -> None:
    build = {"packages": ["libssl-dev", "zlib1g-dev=1:1.2.13.dfsg-1"]}
    files = render(tmp_path, {"app": c(["debian-slim", "alpine"], build=build)})
    stage = dockerfile(files, "app-debian-slim")["build"]
    order = [i["instruction"] for i in stage]
    first_run = order.index("RUN")
    assert first_run < order.index("COPY")  # cached across code changes
    mounts, commands = run_mounts_and_commands(stage[first_run])
    assert "type=cache,target=/var/cache/apt,sharing=locked" in mounts
    assert "type=cache,target=/var/lib/apt,sharing=locked" in mounts
    assert ["rm", "-f", "/etc/apt/apt.conf.d/docker-clean"] in commands
    install = one(commands, "DEBIAN_FRONTEND=noninteractive")
    assert install[-2:] == ["libssl-dev", "zlib1g-dev=1:1.2.13.dfsg-1"]
    alpine = dockerfile(files, "app-alpine")["build"]
    apk = [run_mounts_and_commands(i) for i in alpine if i["instruction"] == "RUN"]
    assert (["type=cache,target=/etc/apk/cache,sharing=locked"], [["apk", "add", "libssl-dev",
            "zlib1g-dev=1:1.2.13.dfsg-1"]]) in apk  # fmt: skip


def test_packages_need_a_base_with_a_packager(tmp_path: Path) -> None:
    bases = {"gcc": {"image": "example/gcc:1", "packager": None}}
    with pytest.raises(ConfigError):
        render(tmp_path, {"app": c(["debian-slim"], build={"packages": ["x"]})}, bases=bases)


def test_compiler_caches_are_cache_mounts(tmp_path: Path) -> None:
    files = render(tmp_path, {
        "go": {"lang": "go", "runtimes": ["scratch-glibc"]},
        "rs": {"lang": "rust", "runtimes": ["scratch-glibc"]},
    }, bases={"rust": {"vars": {"cargo_home": "/root/.cargo"}}})  # fmt: skip
    go_runs = [
        i for i in dockerfile(files, "go-scratch-glibc")["build"] if i["instruction"] == "RUN"
    ]
    assert "type=cache,target=/root/.cache/go-build" in run_mounts_and_commands(go_runs[-1])[0]
    rs_runs = [
        i for i in dockerfile(files, "rs-scratch-glibc")["build"] if i["instruction"] == "RUN"
    ]
    assert run_mounts_and_commands(rs_runs[-1])[0] == ["type=cache,target=/root/.cargo/registry"]


# --- Rust and Go ---------------------------------------------------------------------------


def test_rust_musl_checks_the_target_and_glibc_static_uses_crt_static(tmp_path: Path) -> None:
    artifact = {"lang": "rust", "runtimes": ["scratch-musl", "scratch-glibc"],
                "executables": ["helper"]}  # fmt: skip
    files = render(tmp_path, {"app": artifact})
    musl = build_commands(dockerfile(files, "app-scratch-musl")["build"])
    assert musl[1][:2] == ["test", "-d"] and "no" in " ".join(musl[1])
    glibc = dockerfile(files, "app-scratch-glibc")["build"]
    env = {i["value"].split("=", 1)[0]: i["value"] for i in glibc if i["instruction"] == "ENV"}
    assert "+crt-static" in env["RUSTFLAGS"]
    commands = build_commands(glibc)
    copies = [c for c in commands if c[:1] == ["cp"]]
    assert [c[-1] for c in copies] == ["/out/app", "/out/helper"]  # every [[bin]]


def test_go_glibc_dynamic_is_cgo(tmp_path: Path) -> None:
    files = render(tmp_path, {"app": {"lang": "go", "runtimes": ["scratch-closure"]}})
    build = dockerfile(files, "app-scratch-closure")["build"]
    assert any(i["instruction"] == "ENV" and "CGO_ENABLED" in i["value"] and '"1"' in i["value"]
               for i in build)  # fmt: skip


# --- several executables --------------------------------------------------------------------


def test_every_executable_and_link_reaches_the_runtime_and_the_closure(tmp_path: Path) -> None:
    artifact = c(["scratch-closure", "single-stage"], binary="server",
                 executables=["cli"], links={"srv": "server"},
                 build={"system": "make"})  # fmt: skip
    files = render(tmp_path, {"app": artifact})
    stage = dockerfile(files, "app-scratch-closure")
    commands = build_commands(stage["build"])
    assert ["cp", "/src/server", "/out/server"] in commands
    assert ["cp", "/src/cli", "/out/cli"] in commands
    assert ["strip", "--strip-all", "/out/cli"] in commands
    assert ["ln", "-s", "server", "/out/srv"] in commands
    closure_env = [i["value"] for i in stage["closure"] if i["instruction"] == "ENV"]
    assert 'SLIM_BINARIES="/out/server /out/cli"' in closure_env[0]
    runtime = [i["value"] for i in stage["runtime"] if i["instruction"] == "COPY"]
    assert "--from=files /files/ /" in runtime
    assert ["cp", "-a", "/out/.", "/files/usr/local/bin/"] in build_commands(stage["files"])
    entry = [i for i in stage["runtime"] if i["instruction"] == "ENTRYPOINT"]
    assert json.loads(entry[0]["value"]) == ["/usr/local/bin/server"]


def test_an_executable_without_a_place_and_a_link_to_nothing_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        render(tmp_path, {"app": c(["scratch-glibc"], executables=["cli"], links={"x": "nope"})})
    text = str(error.value)
    assert "executables[0]" in text or "executables.0" in text
    assert "build.outputs" in text and "'nope' is not an executable" in text


# --- runtime contents -----------------------------------------------------------------------


def test_runtime_contents_render_as_instructions(tmp_path: Path) -> None:
    runtime = {
        "copy": [
            {"src": "conf/app.toml", "dest": "/etc/app/app.toml", "owner": "65532:65532",
             "mode": "0644"},
            {"from": "build", "src": "/install/usr/local/share/app/", "dest": "/usr/share/app/"},
        ],
        "env": {"APP_MODE": "prod ${HOME} \"q\""},
        "workdir": "/data",
        "expose": [8080, "8443/udp"],
        "user": "1000:1000",
        "volumes": ["/data"],
        "stopsignal": "SIGINT",
    }  # fmt: skip
    artifact = c(["scratch-glibc"], runtime=runtime, entrypoint_args=["serve"],
                 args=["--port", "8080"])  # fmt: skip
    files = render(tmp_path, {"app": artifact})
    runtime_stage = dockerfile(files, "app-scratch-glibc")["runtime"]
    by = {}
    for ins in runtime_stage:
        by.setdefault(ins["instruction"], []).append(ins["value"])
    assert '--chown=65532:65532 --chmod=0644 ["conf/app.toml", "/etc/app/app.toml"]' in by["COPY"]
    assert '--from=build ["/install/usr/local/share/app/", "/usr/share/app/"]' in by["COPY"]
    assert by["WORKDIR"] == ["/data"] and by["EXPOSE"] == ["8080 8443/udp"]
    assert by["USER"] == ["1000:1000"]  # overrides the nonroot default
    assert json.loads(by["VOLUME"][0]) == ["/data"] and by["STOPSIGNAL"] == ["SIGINT"]
    assert json.loads(by["ENTRYPOINT"][0]) == ["/usr/local/bin/app", "serve"]
    assert json.loads(by["CMD"][0]) == ["--port", "8080"]
    assert any(v.startswith("APP_MODE=") and "\\$" in v for v in by["ENV"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dest", "/etc/x\nRUN evil"),
        ("dest", "/etc/$HOME"),
        ("src", "../secret"),
        ("src", "/etc/passwd"),  # from the context: relative only
        ("mode", "u+x"),
        ("owner", "root;id"),
    ],
)
def test_unsafe_copy_values_are_refused(tmp_path: Path, field: str, value: str) -> None:
    copy = {"src": "a", "dest": "/a", field: value}
    with pytest.raises(ConfigError, match=f"runtime.copy.0.{field}|runtime.copy\\[0\\].{field}"):
        render(tmp_path, {"app": c(["scratch-glibc"], runtime={"copy": [copy]})})


# --- secrets and ssh ------------------------------------------------------------------------


def test_secrets_and_ssh_mount_on_the_build_and_pass_through_bake(tmp_path: Path) -> None:
    build = {"secrets": [{"id": "token", "env": "TOKEN"}, {"id": "npmrc", "src": "s/npmrc"}],
             "ssh": ["default"]}  # fmt: skip
    files = render(tmp_path, {"app": c(["scratch-glibc"], build=build)})
    stage = dockerfile(files, "app-scratch-glibc")["build"]
    mounts = run_mounts_and_commands([i for i in stage if i["instruction"] == "RUN"][-1])[0]
    assert {"type=secret,id=token", "type=secret,id=npmrc", "type=ssh,id=default"} <= set(mounts)
    target = load_hcl(files["docker-bake.hcl"])["target"]
    [app] = [t["app-scratch-glibc"] for t in target if "app-scratch-glibc" in t]
    assert app["secret"] == ["id=token,env=TOKEN", "id=npmrc,src=s/npmrc"]
    assert app["ssh"] == ["default"]


# --- every new flag goes through the one quoting ------------------------------------------

FLAG = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r"),
    min_size=1,
    max_size=20,
).filter(lambda s: not s.endswith("\\"))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(flags=st.lists(FLAG, min_size=1, max_size=3))
def test_any_flag_reaches_the_command_as_one_word(tmp_path: Path, flags: list[str]) -> None:
    build = {"system": "cmake", "cmake_flags": flags, "cflags": flags}
    files = render(tmp_path, {"app": c(["debian-slim"], build=build)})
    commands = build_commands(dockerfile(files, "app-debian-slim")["build"])
    configure = [c for c in commands if c[:1] == ["cmake"]][0]
    assert configure[-len(flags) :] == flags
    defines = [w for w in configure if w.startswith("-DCMAKE_C_FLAGS=")]
    assert defines == ["-DCMAKE_C_FLAGS=" + " ".join([REPRO_CFLAGS, "-O2", *flags])]
