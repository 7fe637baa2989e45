"""The min profile on the engine: the musl hello under 8 kB still greets."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from slim_bake.measure import MeasureCache, measure

TAGS = [f"slim-test-profiles/{a}:scratch-musl" for a in ("hello", "hello-min")]


@pytest.fixture
def profile_images() -> Iterator[list[str]]:
    yield TAGS
    subprocess.run(["docker", "image", "rm", *TAGS], capture_output=True, check=False)


@pytest.mark.docker
def test_min_makes_the_musl_hello_under_8kB_and_it_still_greets(
    project: Callable[..., Path], docker_engine: None, profile_images: list[str], tmp_path: Path
) -> None:
    """One bake, two artifacts sharing hello/: default and min on scratch-musl."""
    hello = {"lang": "c", "context": "./hello", "binary": "hello", "runtimes": ["scratch-musl"],
             "smoke": {"expect_stdout": "Hello, world!"}}  # fmt: skip
    config = project(
        {"version": 1, "registry": "slim-test-profiles", "artifacts": {
            "hello": {**hello, "profile": "default"},
            "hello-min": {**hello, "profile": "min"},
        }},
        standins=True,
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "slim_bake", "bake", "-c", str(config)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout
    cache = MeasureCache(tmp_path / "measure-cache")
    sizes = {}
    for tag in profile_images:
        ran = subprocess.run(
            ["docker", "run", "--rm", "--network=none", tag],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert ran.stdout == "Hello, world!\n", tag
        sizes[tag] = measure(tag, "scratch", cache=cache).size
    default, minimal = (sizes[tag] for tag in profile_images)
    assert minimal <= 8_000, sizes
    assert default <= 20_000, sizes
    assert minimal < default
