"""Shared fixtures. Integration tests use a real Docker engine with buildx: they skip
only when none answers AND SLIM_REQUIRE_DOCKER is unset (CI sets it: there they run
or fail)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
# Fixtures shared by a unit test module and its integration counterpart.
pytest_plugins = ["support.action_helpers"]
STANDIN_BASES: dict[str, object] = yaml.safe_load(
    (Path(__file__).parent / "support" / "standin_bases.yaml").read_text()
)
HELLO_C = (ROOT / "examples" / "hello" / "hello.c").read_text()

# CI runs the property tests with a fixed seed and no example database, so that a result
# is reproducible from the commit alone; a developer's run explores new examples each time.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The engine tests run on one pytest-xdist worker, one after the other: they share
    the engines, their build cache, the stand-in images and image names (two tests
    baking `grow:scratch-musl` at once measure each other's image), and a build needs the
    cores it can get. tryfirst: xdist's own hook turns the mark into the `@engine` suffix
    of the node ID that --dist loadgroup groups by; it must see the mark."""
    for item in items:
        if item.get_closest_marker("docker"):
            item.add_marker(pytest.mark.xdist_group("engine"))


@pytest.fixture(autouse=True)
def _engine_tests_grouped(request: pytest.FixtureRequest) -> None:
    """An engine test outside the group (a hook order that changed with pytest or xdist)
    would run beside another engine test, and flake: it fails at once, saying why."""
    config = request.config
    if not hasattr(config, "workerinput") or not config.getvalue("loadgroup"):
        return
    node = request.node
    if node.get_closest_marker("docker") and not node.nodeid.endswith("@engine"):
        pytest.fail("engine test outside the xdist group 'engine' (tests/conftest.py)")


def _engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        return "no Docker engine answers `docker info`"
    buildx = subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False)
    if buildx.returncode != 0:
        return "docker buildx is not installed"
    return None


@pytest.fixture(scope="session")
def docker_engine() -> None:
    problem = _engine_problem()
    if problem is None:
        return
    if os.environ.get("SLIM_REQUIRE_DOCKER"):
        pytest.fail(f"SLIM_REQUIRE_DOCKER is set but {problem}; run scripts/test")
    pytest.skip(f"{problem} (set SLIM_REQUIRE_DOCKER=1 to make this a failure)")


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """A throw-away repository with hello.c in ./hello and a slim.yaml from `config`
    (a dict); `standins=True` adds the offline stand-in bases. Returns slim.yaml."""

    def make(config: dict[str, object], standins: bool = False) -> Path:
        (tmp_path / "hello").mkdir(exist_ok=True)
        (tmp_path / "hello" / "hello.c").write_text(HELLO_C)
        if standins:
            config = {**config, "bases": {**STANDIN_BASES, **config.get("bases", {})}}  # type: ignore[dict-item]
        path = tmp_path / "slim.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    return make
