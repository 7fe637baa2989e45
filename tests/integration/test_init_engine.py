"""slim init --bake on real repositories, then slim bake passes."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from support.bake_support import (
    GO_HELLO,
    HELLO_C,
    STANDIN_BASES,
    remove_images,
    run_slim,
    unique_registry,
)
from support.init_helpers import repo

from slim_bake.units import parse_size


@pytest.mark.docker
def test_init_bake_on_a_tiny_c_repository_then_slim_bake_passes(
    docker_engine: None, tmp_path: Path
) -> None:
    name = f"hi{uuid.uuid4().hex[:10]}"  # the binary, artifact and image name: unique to this run
    repo(tmp_path, {f"{name}.c": HELLO_C})
    (tmp_path / "bases.yaml").write_text(yaml.safe_dump(STANDIN_BASES))
    env = {"SLIM_CACHE_DIR": str(tmp_path / ".cache")}
    try:
        run = run_slim("init", "--bake", "--bases", "bases.yaml", cwd=tmp_path, env=env)
        assert run.returncode == 0, run.stderr
        artifact = yaml.safe_load((tmp_path / "slim.yaml").read_text())["artifacts"][name]
        assert artifact["runtimes"][:2] == ["scratch-musl", "scratch-glibc"]
        assert artifact["budgets"]["scratch-musl"] == {"max": "20kB"}  # 17.9 kB + 10%
        assert artifact["smoke"] == {"args": ["--version"]}  # hello ignores it and exits 0

        baked = run_slim("bake", cwd=tmp_path, env=env)
        assert baked.returncode == 0, baked.stderr
        assert baked.stdout.count(" pass\n") == len(artifact["runtimes"])
        assert run_slim("check", cwd=tmp_path).returncode == 0  # the generated files match
    finally:
        remove_images(f"{name}:{runtime}" for runtime in ("scratch-musl", "scratch-glibc",
                      "scratch-closure", "debian-slim"))  # fmt: skip


@pytest.mark.docker
def test_init_bake_on_a_go_module_then_slim_bake_passes(
    docker_engine: None, tmp_path: Path
) -> None:
    repo(tmp_path, {p.name: p.read_text() for p in GO_HELLO.iterdir()})
    (tmp_path / "bases.yaml").write_text(yaml.safe_dump(STANDIN_BASES))
    registry = unique_registry("init")
    env = {"SLIM_CACHE_DIR": str(tmp_path / ".cache")}
    runtimes = ["scratch-glibc", "distroless-static", "debian-slim"]
    try:
        run = run_slim(
            "init", "--bake", "--bases", "bases.yaml", "--registry", registry, cwd=tmp_path, env=env
        )
        assert run.returncode == 0, run.stderr
        config = yaml.safe_load((tmp_path / "slim.yaml").read_text())
        assert config["registry"] == registry
        artifact = config["artifacts"]["hello"]
        assert artifact["runtimes"] == runtimes
        assert set(artifact["budgets"]) == set(runtimes)
        assert all(parse_size(b["max"]) > 1_000_000 for b in artifact["budgets"].values())

        baked = run_slim("bake", cwd=tmp_path, env=env)
        assert baked.returncode == 0, baked.stderr
        assert baked.stdout.count(" pass\n") == len(runtimes)
    finally:
        remove_images(f"{registry}/hello:{runtime}" for runtime in runtimes)
