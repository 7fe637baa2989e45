"""`slim bake` as a user runs it: exit codes 0/1/2/3 with a clear message each, on the
real engine and the stand-in bases (broken build, no engine, no buildx, unknown target,
broken budget, failed smoke check, several platforms)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.bake_support import (
    HELLO_C,
    c_artifact,
    remove_images,
    run_slim,
    unique_registry,
    write_project,
)

pytestmark = pytest.mark.docker


@pytest.fixture
def registry() -> Iterator[str]:
    name = unique_registry("cli")
    yield name
    listed = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    remove_images(line for line in listed.stdout.splitlines() if line.startswith(name + "/"))


def slim_bake(
    path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {"SLIM_CACHE_DIR": str(path.parent / "cache"), **(env or {})}
    return run_slim("bake", "-c", str(path), *args, env=env, cwd=path.parent)


def table(stdout: str) -> dict[str, list[str]]:
    """The table's rows by target; every row has the six columns."""
    lines = stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == [
        "target",
        "size",
        "compressed",
        "layers",
        "budget",
        "verdict",
    ]
    rows = {}
    for line in lines[2:]:
        cells = re.split(r"\s{2,}", line)
        if len(cells) != 6:
            break  # the reasons below the table
        rows[cells[0]] = cells
    return rows


def test_bake_regenerates_builds_and_prints_the_table(
    docker_engine: None, tmp_path: Path, registry: str
) -> None:
    path = write_project(tmp_path, {"hello": c_artifact(["scratch-musl", "alpine"])}, registry)
    run = slim_bake(path)
    assert run.returncode == 0, run.stderr
    assert "slim: created dockerfiles/hello-scratch-musl.Dockerfile" in run.stderr
    assert "naming to" in run.stderr  # buildx's own progress, passed through
    rows = table(run.stdout)
    assert set(rows) == {"hello-scratch-musl", "hello-alpine"}
    assert all(row[-1] == "pass" for row in rows.values())
    assert re.fullmatch(
        r"1\d\.\dkB", rows["hello-scratch-musl"][1]
    )  # the 17.9 kB static musl hello

    write_project(tmp_path, {"hello": c_artifact(["scratch-musl"])}, registry)
    again = slim_bake(path, "scratch-musl")
    assert again.returncode == 0, again.stderr
    assert "slim: updated docker-bake.hcl before baking" in again.stderr
    assert "slim: removed dockerfiles/hello-alpine.Dockerfile before baking" in again.stderr
    assert set(table(again.stdout)) == {"hello-scratch-musl"}


def test_a_broken_budget_exits_1_and_names_the_budget(
    docker_engine: None, tmp_path: Path, registry: str
) -> None:
    budgets = {"scratch-musl": {"max": "1kB"}, "alpine": {"max_layers": 1}}
    path = write_project(
        tmp_path, {"hello": c_artifact(["scratch-musl", "alpine"], budgets=budgets)}, registry
    )
    run = slim_bake(path)
    assert run.returncode == 1, run.stderr
    rows = table(run.stdout)
    assert rows["hello-scratch-musl"][4:] == ["max 1kB", "over-budget"]
    assert rows["hello-alpine"][4:] == ["1 layers", "over-budget"]
    assert re.search(
        r"^hello-scratch-musl: size 1\d\.\dkB \([\d,]+ B\) > 1kB \(1,000 B\)", run.stdout, re.M
    )
    assert "hello-alpine: 2 layers > max_layers 1" in run.stdout


def test_a_failed_smoke_check_exits_1_and_says_what_was_printed(
    docker_engine: None, tmp_path: Path, registry: str
) -> None:
    artifact = c_artifact(
        ["scratch-musl"], smoke={"expect_stdout": "Goodbye, world!", "expect_exit": 0}
    )
    path = write_project(tmp_path, {"hello": artifact}, registry)
    run = slim_bake(path)
    assert run.returncode == 1, run.stderr
    assert table(run.stdout)["hello-scratch-musl"][-1] == "smoke-failed"
    assert "stdout 'Hello, world!', expected 'Goodbye, world!'" in run.stdout

    skipped = slim_bake(path, "--no-smoke")
    assert skipped.returncode == 0, skipped.stderr


def test_a_wrong_exit_code_fails_the_smoke_check(
    docker_engine: None, tmp_path: Path, registry: str
) -> None:
    artifact = c_artifact(["scratch-musl"], smoke={"args": ["--anything"], "expect_exit": 3})
    path = write_project(tmp_path, {"hello": artifact}, registry)
    run = slim_bake(path)
    assert run.returncode == 1
    assert "exit code 0, expected 3" in run.stdout


def test_a_broken_build_exits_3_and_the_other_targets_are_still_measured(
    docker_engine: None, tmp_path: Path, registry: str
) -> None:
    artifacts = {
        "hello": c_artifact(["scratch-musl", "alpine"]),
        "broken": {**c_artifact(["scratch-musl"]), "context": "./broken"},
    }
    path = write_project(tmp_path, artifacts, registry)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "broken.c").write_text("int main(void) { return missing; }\n")
    # An image left under the broken target's tag (an earlier run's) must not be measured as new.
    stale = f"{registry}/broken:scratch-musl"
    subprocess.run(["docker", "tag", "slim-standin/busybox:static", stale], check=True)

    run = slim_bake(path)
    assert run.returncode == 3, run.stderr
    rows = table(run.stdout)
    assert rows["broken-scratch-musl"][1:] == ["-", "-", "-", "-", "build-failed"]
    assert rows["hello-scratch-musl"][-1] == "pass" and rows["hello-alpine"][-1] == "pass"
    assert rows["hello-alpine"][1] != "-"
    assert "broken-scratch-musl: the build failed" in run.stdout
    assert "missing" in run.stderr  # the compiler's own error, from buildx's output


def counting_docker(folder: Path) -> tuple[dict[str, str], Path]:
    """PATH with a `docker` that logs each `docker buildx bake` it runs, then runs the real one."""
    real = shutil.which("docker")
    assert real is not None
    log = folder / "bakes.log"
    (folder / "bin").mkdir()
    wrapper = folder / "bin" / "docker"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1 $2" = "buildx bake" ]; then echo "$*" >> {shlex.quote(str(log))}; fi\n'
        f'exec {shlex.quote(real)} "$@"\n'
    )
    wrapper.chmod(0o755)
    return {"PATH": f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}"}, log


def slow_hello(seed: str) -> str:
    """hello.c with a few hundred functions to compile (about a second at -O2), unique
    to `seed` so that the build cache never has it."""
    functions = "".join(
        f"int f{i}(int x) {{ int s = 0; for (int j = 0; j < x; j++) s += j * {i} ^ (s >> 3);"
        " return s; }\n"
        for i in range(300)
    )
    return f"/* {seed} */\n{functions}{HELLO_C}"


@pytest.mark.parametrize("good", [2, 6])
def test_a_broken_target_is_named_from_buildx_output_and_the_others_are_baked_together(
    docker_engine: None, tmp_path: Path, registry: str, good: int
) -> None:
    """1 broken artifact (two runtimes sharing its broken build stage) beside `good`
    working ones: the broken targets are named from buildx's progress and the others
    baked again together, so the number of bakes depends on the broken targets only."""
    artifacts = {
        f"ok{i}": {**c_artifact(["scratch-musl"]), "context": f"./ok{i}"} for i in range(good)
    }
    artifacts["broken"] = {
        **c_artifact(["scratch-musl", "scratch-musl-debug"]),
        "context": "./broken",
    }
    path = write_project(tmp_path, artifacts, registry)
    for i in range(good):
        (tmp_path / f"ok{i}").mkdir()
        (tmp_path / f"ok{i}" / "hello.c").write_text(slow_hello(f"{registry} {i}"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "broken.c").write_text("int main(void) { return missing; }\n")
    env, log = counting_docker(tmp_path)

    run = slim_bake(path, "--no-smoke", env=env)
    assert run.returncode == 3, run.stderr
    rows = table(run.stdout)
    for name in ("broken-scratch-musl", "broken-scratch-musl-debug"):
        assert rows[name][-1] == "build-failed"
    assert all(rows[f"ok{i}-scratch-musl"][-1] == "pass" for i in range(good))
    assert all(re.fullmatch(r"\d+(\.\d+)?kB", rows[f"ok{i}-scratch-musl"][1]) for i in range(good))
    named = re.findall(r"^slim: bake failed: (.*) broke \(buildx's progress\)", run.stderr, re.M)
    broken = {"broken-scratch-musl", "broken-scratch-musl-debug"}
    # Both at once, or one per bake when buildx cancelled the other before loading its graph.
    assert {name for names in named for name in names.split(", ")} == broken, named
    bakes = [bake.split(" -- ")[1].split() for bake in log.read_text().splitlines()]
    assert len(bakes) == len(named) + 1, bakes  # the last bake builds the others, together
    assert set(bakes[0]) == set(rows)
    assert bakes[-1] and set(bakes[-1]) <= {f"ok{i}-scratch-musl" for i in range(good)}
    assert f"baking the {len(bakes[-1])} unfinished other(s) again, together" in run.stderr
    assert "alone" not in run.stderr
    assert "ERROR: process" in run.stderr  # buildx's progress, shown as plain lines
    assert "missing" in run.stderr  # the compiler's own error


def test_no_engine_exits_3_and_says_where_it_looked(
    docker_engine: None, tmp_path: Path, registry: str
) -> None:
    path = write_project(tmp_path, {"hello": c_artifact(["scratch-musl"])}, registry)
    socket = f"unix://{tmp_path}/no-engine.sock"
    run = slim_bake(path, env={"DOCKER_HOST": socket})
    assert run.returncode == 3
    assert f"slim: no Docker engine answers at {socket}" in run.stderr
    assert "Traceback" not in run.stderr


def test_no_buildx_exits_3_with_a_clear_message(
    docker_engine: None, tmp_path: Path, registry: str
) -> None:
    """Hide the buildx plugin for real: a private mount namespace with an empty folder
    over the plugin's folder (needs root, as CI has), and an empty DOCKER_CONFIG."""
    info = subprocess.run(
        ["docker", "info", "--format", "{{json .ClientInfo.Plugins}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    plugin = next(p["Path"] for p in json.loads(info.stdout) if p["Name"] == "buildx")
    path = write_project(tmp_path, {"hello": c_artifact(["scratch-musl"])}, registry)
    (tmp_path / "docker-config").mkdir()
    hidden = shlex.join(["mount", "-t", "tmpfs", "tmpfs", str(Path(plugin).parent)])
    command = shlex.join([sys.executable, "-m", "slim_bake", "bake", "-c", str(path)])
    run = subprocess.run(
        ["unshare", "--mount", "sh", "-c", f"{hidden} && exec {command}"],
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "DOCKER_CONFIG": str(tmp_path / "docker-config"),
            "SLIM_CACHE_DIR": str(tmp_path),
        },
    )
    assert "mount:" not in run.stderr, run.stderr  # the namespace trick itself worked
    assert run.returncode == 3, run.stderr
    assert "slim: docker buildx is not installed or not found by the docker CLI" in run.stderr


def test_an_unknown_target_exits_2_and_lists_the_valid_names(
    docker_engine: None, tmp_path: Path, registry: str
) -> None:
    path = write_project(tmp_path, {"hello": c_artifact(["scratch-musl", "alpine"])}, registry)
    run = slim_bake(path, "hello-scratch-mussl")
    assert run.returncode == 2
    assert run.stdout == ""
    assert "unknown target or group 'hello-scratch-mussl'" in run.stderr
    assert "targets: hello-scratch-musl, hello-alpine" in run.stderr
    assert "groups: default, hello, scratch-musl, alpine" in run.stderr
    assert not (tmp_path / "docker-bake.hcl").exists()  # nothing written, nothing built


def test_several_platforms_build_the_native_one_with_a_notice(
    docker_engine: None, tmp_path: Path, registry: str
) -> None:
    native = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    other = "linux/arm64" if native != "linux/arm64" else "linux/amd64"
    path = write_project(
        tmp_path, {"hello": c_artifact(["scratch-musl"])}, registry, platforms=[other, native]
    )
    run = slim_bake(path)
    assert run.returncode == 0, run.stderr
    assert f"slim bake builds, runs and measures {native} only" in run.stderr
    assert table(run.stdout)["hello-scratch-musl"][-1] == "pass"


def test_builder_passes_through_to_buildx(
    docker_engine: None, tmp_path: Path, registry: str
) -> None:
    path = write_project(tmp_path, {"hello": c_artifact(["scratch-musl"])}, registry)
    run = slim_bake(path, "--builder", "default")
    assert run.returncode == 0, run.stderr
    assert (
        "slim: docker buildx bake -f docker-bake.hcl --load --progress=rawjson --builder default"
        in run.stderr
    )

    missing = slim_bake(path, "--builder", "no-such-builder")
    assert missing.returncode == 3
    assert "slim: buildx builder 'no-such-builder' is not usable" in missing.stderr
