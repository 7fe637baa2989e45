"""One docker SDK client per engine host (engine.py), without an engine: the SDK's
client class is replaced by a stand-in that records where it was pointed."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from slim_bake import engine
from slim_bake.errors import BuildError


class StandinClient:
    """Records its base_url; `ping` fails for hosts listed in `down`."""

    made: list[str] = []
    down: set[str] = set()

    def __init__(self, base_url: str, **options: object) -> None:
        self.base_url = base_url
        StandinClient.made.append(base_url)

    def ping(self) -> bool:
        if self.base_url in StandinClient.down:
            raise docker.errors.DockerException("connection refused")
        return True


@pytest.fixture(autouse=True)
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(docker, "DockerClient", StandinClient)
    StandinClient.made, StandinClient.down = [], set()
    engine._client_for.cache_clear()
    yield
    engine._client_for.cache_clear()  # no stand-in left for a later test


def test_two_hosts_get_two_clients_and_each_host_keeps_its_own() -> None:
    first = engine.client("unix:///run/one.sock")
    second = engine.client("unix:///run/two.sock")
    assert (first.base_url, second.base_url) == ("unix:///run/one.sock", "unix:///run/two.sock")
    assert engine.client("unix:///run/one.sock") is first
    assert engine.client("unix:///run/two.sock") is second
    assert StandinClient.made == ["unix:///run/one.sock", "unix:///run/two.sock"]


def test_the_client_follows_docker_host_when_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    classic = engine.client()
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/slim-containerd/docker.sock")
    containerd = engine.client()
    assert classic.base_url == "tcp://127.0.0.1:2375"
    assert containerd.base_url == "unix:///run/slim-containerd/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    assert engine.client() is classic


def test_an_engine_that_does_not_answer_is_a_build_error_and_is_asked_again() -> None:
    StandinClient.down.add("unix:///run/late.sock")
    with pytest.raises(BuildError, match=r"no Docker engine answers at unix:///run/late\.sock"):
        engine.client("unix:///run/late.sock")
    StandinClient.down.clear()  # the engine has started meanwhile
    assert engine.client("unix:///run/late.sock").base_url == "unix:///run/late.sock"


def test_only_engine_py_makes_docker_clients() -> None:
    """Every engine call in the package goes through engine.client(): no other module
    builds an SDK client of its own (which would ignore the per-host cache)."""
    package = Path(engine.__file__).parent
    found = set()
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        from_env = any(
            isinstance(n, ast.Attribute)
            and n.attr == "from_env"
            and isinstance(n.value, ast.Name)
            and n.value.id == "docker"
            for n in ast.walk(tree)
        )
        if names & {"DockerClient", "APIClient"} or from_env:
            found.add(path.relative_to(package).as_posix())
    assert found == {"engine.py"}
