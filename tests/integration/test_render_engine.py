"""Rendered files read by the real tools: buildx bake --print, a real build, the metadata
action's labels."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.render_helpers import EXAMPLES, NASTY, render, wide_config

from slim_bake.config import load_config
from slim_bake.plan import make_plan


@pytest.mark.docker
def test_env_values_reach_the_image_exactly_as_written(tmp_path: Path, docker_engine: None) -> None:
    """dockerfile-parse does not unescape like BuildKit does: let BuildKit parse the ENV."""
    config = wide_config()
    hello = config["artifacts"]["hello"]
    hello["runtimes"] = ["scratch-musl"]
    value = NASTY.replace("\n", " ")
    hello["build"] = {"env": {"GREETING": value}}
    files, _ = render(tmp_path, config)
    [env] = [
        line
        for line in files["dockerfiles/hello-scratch-musl.Dockerfile"].splitlines()
        if line.startswith("ENV ")
    ]
    (tmp_path / "env.Dockerfile").write_text(f"FROM scratch\n{env}\n")
    tag = "slim-test/env-escaping:latest"
    subprocess.run(
        ["docker", "buildx", "build", "--load", "-q", "-t", tag, "-f", "env.Dockerfile", "."],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    inspect = subprocess.run(
        ["docker", "image", "inspect", tag, "--format", "{{json .Config.Env}}"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    subprocess.run(["docker", "image", "rm", tag], check=False, capture_output=True)
    assert f"GREETING={value}" in json.loads(inspect.stdout)


@pytest.mark.docker
def test_buildx_bake_print_accepts_the_file_and_keeps_values_exact(
    tmp_path: Path, docker_engine: None
) -> None:
    config = wide_config()
    config["artifacts"]["hello"]["labels"] = {"com.example.note": NASTY, "x": "$${y} %%{z} ${"}
    files, _ = render(tmp_path, config)
    bake = tmp_path / "docker-bake.hcl"
    bake.write_text(files["docker-bake.hcl"])
    out = subprocess.run(
        ["docker", "buildx", "bake", "-f", str(bake), "--print", "default"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    printed = json.loads(out.stdout)
    planned = {
        n.removeprefix("dockerfiles/").removesuffix(".Dockerfile")
        for n in files
        if n.endswith(".Dockerfile")
    }
    assert set(printed["target"]) == planned
    labels = printed["target"]["hello-scratch-musl"]["labels"]
    assert labels["com.example.note"] == NASTY
    assert labels["x"] == "$${y} %%{z} ${"
    assert printed["target"]["hello-scratch-musl"]["target"] == "runtime"


@pytest.mark.docker
def test_metadata_action_labels_flow_in_but_each_target_keeps_its_own_tags(
    tmp_path: Path, docker_engine: None
) -> None:
    files, _ = render(tmp_path, wide_config())
    (tmp_path / "docker-bake.hcl").write_text(files["docker-bake.hcl"])
    # What docker/metadata-action writes: one tag list and labels for "the" image.
    meta = {
        "target": {
            "docker-metadata-action": {
                "tags": ["ghcr.io/acme/app:pr-7"],
                "labels": {"org.opencontainers.image.revision": "abc123"},
            }
        }
    }
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    out = subprocess.run(
        ["docker", "buildx", "bake", "-f", "docker-bake.hcl", "-f", "meta.json"]
        + ["--print", "hello"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    targets = json.loads(out.stdout)["target"]
    for name, target in targets.items():
        assert target["labels"]["org.opencontainers.image.revision"] == "abc123", name
        assert target["labels"]["io.slim-bake.artifact"] == "hello"
        assert target["tags"] == [f"ghcr.io/acme/hello:{name.removeprefix('hello-')}"]


EXAMPLE_CONFIGS = sorted(EXAMPLES.glob("*slim.yaml"))


@pytest.mark.docker
@pytest.mark.parametrize("config", EXAMPLE_CONFIGS, ids=lambda p: p.name)
def test_examples_bake_files_list_exactly_the_planned_targets(
    config: Path, docker_engine: None
) -> None:
    plan = make_plan(load_config(config))
    out = subprocess.run(
        ["docker", "buildx", "bake", "-f", plan.config.bake_file, "--print", "default"],
        cwd=config.parent, capture_output=True, text=True, check=True,
    )  # fmt: skip
    printed = json.loads(out.stdout)["target"]
    assert sorted(printed) == sorted(t.name for t in plan.targets)
    for target in plan.targets:
        entry = printed[target.name]
        assert entry["target"] == "runtime"
        assert (config.parent / entry["context"] / entry["dockerfile"]).resolve() == (
            config.parent / target.dockerfile
        ).resolve()
