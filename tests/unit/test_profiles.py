"""Size profiles (`profile:` default | min): the generated Dockerfiles carry each profile's
flags (proved by parsing them with dockerfile-parse and shlex), per artifact and per
runtime, users can append to them, and — with the real engine — `min` makes the static
musl hello smaller than 8 kB while it still prints its greeting."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.buildkit_rules import as_dicts, run_commands

from slim_bake import presets
from slim_bake.cli import main

ROOT = Path(__file__).resolve().parents[2]
C_MIN = presets.languages()["c"].profiles["min"].vars
MIN_FLAGS = [*C_MIN["cflags"], *C_MIN["ldflags"]]


def build_stage(dockerfile: Path) -> list[dict[str, Any]]:
    """The instructions of the `build` stage, parsed."""
    stage: list[dict[str, Any]] = []
    current = None
    for ins in as_dicts(dockerfile.read_text()):
        if ins["instruction"] == "FROM":
            current = ins["value"].split()[-1]
        elif current == "build":
            stage.append(ins)
    return stage


def build_commands(dockerfile: Path) -> list[list[str]]:
    """The build stage's RUN script, split into its commands, each as argv words."""
    run = [i["script"] for i in build_stage(dockerfile) if i["instruction"] == "RUN"][
        -1
    ]  # after setup
    return [shlex.split(command) for command in run_commands(run)]


def compile_command(dockerfile: Path) -> list[str]:
    [command] = [c for c in build_commands(dockerfile) if "-o" in c and c[0] != "strip"]
    return command


def env_of(dockerfile: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in build_stage(dockerfile):
        if ins["instruction"] == "ENV":
            key, _, value = ins["value"].partition("=")
            env[key] = shlex.split(value)[0]
    return env


def generate(make: Callable[..., Path], artifacts: dict[str, Any]) -> Path:
    config = make({"version": 1, "artifacts": artifacts})
    assert main(["generate", "-c", str(config)]) == 0
    return config.parent / "dockerfiles"


# --- C ----------------------------------------------------------------------------------


def test_min_profile_compiles_and_links_with_every_min_flag_and_strips(
    project: Callable[..., Path],
) -> None:
    out = generate(
        project, {"hello": {"lang": "c", "runtimes": ["scratch-musl"], "profile": "min"}}
    )
    dockerfile = out / "hello-scratch-musl.Dockerfile"
    command = compile_command(dockerfile)
    assert "-static" in command
    for flag in ["-Os", "-ffunction-sections", "-fdata-sections", "-fno-asynchronous-unwind-tables",
                 "-Wl,--gc-sections", "-Wl,--build-id=none"]:  # fmt: skip
        assert flag in command, flag
    assert "-O2" not in command
    # linker options come after the sources, compiler options before the output
    assert command.index("-Wl,--gc-sections") > command.index("./*.c") > command.index("-Os")
    assert ["strip", "--strip-all", "/out/hello"] in build_commands(dockerfile)


def test_default_profile_is_O2_and_strip_without_the_min_flags(
    project: Callable[..., Path],
) -> None:
    out = generate(project, {"hello": {"lang": "c", "runtimes": ["scratch-musl", "scratch-glibc"]}})
    for name in ("hello-scratch-musl", "hello-scratch-glibc"):
        command = compile_command(out / f"{name}.Dockerfile")
        assert "-O2" in command and "-static" in command
        assert not set(MIN_FLAGS) & set(command), name
        assert ["strip", "--strip-all", "/out/hello"] in build_commands(out / f"{name}.Dockerfile")


def test_profile_chosen_per_runtime_applies_only_to_that_runtime(
    project: Callable[..., Path],
) -> None:
    out = generate(project, {"hello": {
        "lang": "c", "runtimes": ["debian-slim", "scratch-musl", "scratch-glibc"],
        "profile": {"*": "default", "scratch-musl": "min"},
    }})  # fmt: skip
    assert set(MIN_FLAGS) <= set(compile_command(out / "hello-scratch-musl.Dockerfile"))
    for name in ("hello-debian-slim", "hello-scratch-glibc"):
        command = compile_command(out / f"{name}.Dockerfile")
        assert "-O2" in command and not set(MIN_FLAGS) & set(command), name


def test_users_flags_come_after_the_profiles_so_they_can_undo_a_trade_off(
    project: Callable[..., Path],
) -> None:
    out = generate(project, {"hello": {
        "lang": "c", "runtimes": ["scratch-musl"], "profile": "min",
        "build": {"ldflags": ["-Wl,-z,relro"], "cflags": ["-DNDEBUG"]},
    }})  # fmt: skip
    command = compile_command(out / "hello-scratch-musl.Dockerfile")
    assert command.index("-Wl,-z,relro") > command.index("-Wl,-z,norelro")
    assert command.index("-DNDEBUG") > command.index("-Os")
    assert command[-1] == "-Wl,-z,relro"


def test_every_language_has_the_default_and_min_profiles() -> None:
    for lang, spec in presets.languages().items():
        assert {"default", "min"} <= set(spec.profiles), lang


def test_slim_yaml_can_add_and_replace_profiles(project: Callable[..., Path]) -> None:
    config = project({
        "version": 1,
        "profiles": {"c": {
            "min": {"vars": {"cflags": ["-Os"]}, "post": ["{strip} --strip-all {out}"]},
            "debuggable": {"vars": {"cflags": ["-Og", "-g"]}},
        }},
        "artifacts": {
            "hello": {"lang": "c", "runtimes": ["scratch-musl"], "profile": "min"},
            "hellodbg": {
                "lang": "c", "context": "hello", "runtimes": ["scratch-musl"],
                "profile": "debuggable",
            },
        },
    })  # fmt: skip
    assert main(["generate", "-c", str(config)]) == 0
    out = config.parent / "dockerfiles"
    replaced = compile_command(out / "hello-scratch-musl.Dockerfile")
    assert "-Os" in replaced and "-Wl,-z,norelro" not in replaced  # the preset's min is gone
    text = (out / "hellodbg-scratch-musl.Dockerfile").read_text()
    assert "-Og -g" in text and "strip" not in text  # no post step: not stripped


@pytest.mark.parametrize(
    ("profiles", "profile", "fragment"),
    [
        ({}, "tiny", "'tiny' is not a profile of c"),
        ({"c": {"min": {"vars": {"cflag": ["-Os"]}}}}, "min", "'cflag' is not a variable of c"),
        ({"c": {"min": {"vars": {"cflags": "-Os"}}}}, "min", "'cflags' takes a list"),
        ({"c": {"min": {"post": ["strip ${HOME}"]}}}, "min", "unknown placeholder {HOME}"),
        ({"cc": {"min": {}}}, "min", "'cc' is not a language; did you mean 'c'?"),
    ],
)
def test_bad_profiles_are_reported_with_their_place(
    project: Callable[..., Path],
    profiles: dict[str, Any],
    profile: str,
    fragment: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = project({
        "version": 1, "profiles": profiles,
        "artifacts": {"hello": {"lang": "c", "runtimes": ["scratch-musl"], "profile": profile}},
    })  # fmt: skip
    assert main(["generate", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "slim.yaml:" in err
    assert not (path.parent / "dockerfiles").exists()


# --- Go and Rust ------------------------------------------------------------------------


def test_go_min_is_trimpath_and_s_w_and_static_runtimes_disable_cgo(
    project: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "gohello").mkdir()
    out = generate(project, {"gohello": {
        "lang": "go", "runtimes": ["scratch-musl", "debian-slim"], "profile": "min",
    }})  # fmt: skip
    static = out / "gohello-scratch-musl.Dockerfile"
    command = compile_command(static)
    assert command[command.index("go") + 1] == "build"
    assert "-trimpath" in command and "-ldflags=-s -w" in command
    assert env_of(static)["CGO_ENABLED"] == "0"
    assert env_of(out / "gohello-debian-slim.Dockerfile")["CGO_ENABLED"] == "1"


def test_go_default_keeps_symbols(project: Callable[..., Path], tmp_path: Path) -> None:
    (tmp_path / "gohello").mkdir()
    out = generate(project, {"gohello": {"lang": "go", "runtimes": ["debian-slim"]}})
    command = compile_command(out / "gohello-debian-slim.Dockerfile")
    assert not any(word.startswith("-ldflags=") and "-s" in word for word in command)


def test_rust_min_goes_through_cargo_env_and_leaves_cargo_toml_alone(
    project: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "rusty").mkdir()
    out = generate(
        project, {"rusty": {"lang": "rust", "runtimes": ["scratch-musl"], "profile": "min"}}
    )
    dockerfile = out / "rusty-scratch-musl.Dockerfile"
    env = env_of(dockerfile)
    assert env["CARGO_PROFILE_RELEASE_OPT_LEVEL"] == "z"
    assert env["CARGO_PROFILE_RELEASE_LTO"] == "true"
    assert env["CARGO_PROFILE_RELEASE_CODEGEN_UNITS"] == "1"
    assert env["CARGO_PROFILE_RELEASE_PANIC"] == "abort"
    assert env["CARGO_PROFILE_RELEASE_STRIP"] == "true"
    run = " ".join(" ".join(c) for c in build_commands(dockerfile))
    assert "Cargo.toml" not in run  # nothing edits the user's manifest


def test_rust_default_strips_but_keeps_cargos_other_settings(
    project: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "rusty").mkdir()
    out = generate(project, {"rusty": {"lang": "rust", "runtimes": ["debian-slim"]}})
    env = env_of(out / "rusty-debian-slim.Dockerfile")
    assert env.get("CARGO_PROFILE_RELEASE_STRIP") == "true"
    assert "CARGO_PROFILE_RELEASE_LTO" not in env and "CARGO_PROFILE_RELEASE_OPT_LEVEL" not in env


def test_the_textstats_example_is_current() -> None:
    assert main(["check", "-c", str(ROOT / "examples" / "textstats.slim.yaml")]) == 0


# --- With the engine -----------------------------------------------------------------------
