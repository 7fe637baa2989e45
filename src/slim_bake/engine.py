"""The Docker engine as the docker CLI sees it, through the docker SDK.

The SDK is imported here, lazily, so that `slim generate` and the pre-commit hooks
never pay for it. Every failure to reach the engine is a BuildError (exit 3) with a
message that says where slim looked."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from slim_bake.errors import BuildError

DEFAULT_HOST = "unix:///var/run/docker.sock"


def engine_host() -> str:
    """DOCKER_HOST, else the endpoint of the CLI's current context (`docker context use`),
    else the default socket: the engine that `docker buildx bake --load` loads into."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return host
    try:
        from docker.context import ContextAPI

        context = ContextAPI.get_current_context()
    except Exception:  # an unreadable CLI config: fall back like the CLI's default context
        return DEFAULT_HOST
    endpoint = getattr(context, "Host", None) if context is not None else None
    return str(endpoint) if endpoint else DEFAULT_HOST


def client(host: str | None = None) -> Any:
    """A connected docker SDK client for `host`, by default the engine the CLI talks to
    now (engine_host(): DOCKER_HOST is read on every call); BuildError when no engine
    answers. One client per host and process, whatever the order of the calls."""
    return _client_for(host or engine_host())


@cache
def _client_for(host: str) -> Any:
    """The client of one engine host, created and pinged on first use. The cache is keyed
    by the host: a DOCKER_HOST changed between calls (the engine tests measure on two
    engines in one process) gets its own client. A failure is not cached."""
    try:
        import docker
    except ImportError as exc:
        raise BuildError("the docker SDK is not installed: pip install 'slim-bake[bake]'") from exc
    try:
        engine = docker.DockerClient(base_url=host, version="auto", timeout=120)
        engine.ping()
    except docker.errors.DockerException as exc:
        raise BuildError(
            f"no Docker engine answers at {host} ({_short(exc)}); start one"
            " (e.g. scripts/engine.sh) or point DOCKER_HOST at it"
        ) from exc
    return engine


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def containerd_store() -> bool:
    """Whether the engine keeps its images in the containerd image store (whose content
    store holds each layer's compressed blob), not in the classic graph driver store."""
    return _containerd_store(engine_host())


@cache
def _containerd_store(host: str) -> bool:
    status = client(host).info().get("DriverStatus") or []
    return any(
        isinstance(row, list) and row[:1] == ["driver-type"] and "containerd" in str(row[1:])
        for row in status
    )


def image_diff_ids(reference: str) -> tuple[str, ...]:
    """The layers (diff_ids) of a local image; () when the engine lacks it."""
    import docker

    try:
        layers = client().images.get(reference).attrs.get("RootFS", {}).get("Layers") or []
    except docker.errors.DockerException:
        return ()
    return tuple(str(layer) for layer in layers)


def native_platform() -> str:
    """os/arch of the engine, as buildx spells platforms (linux/amd64)."""
    version: dict[str, Any] = client().version()
    return f"{version.get('Os', 'linux')}/{version.get('Arch', 'amd64')}"


def image_ids(references: list[str]) -> dict[str, str | None]:
    """The local image ID of each reference (None when absent)."""
    import docker

    found: dict[str, str | None] = dict.fromkeys(references)
    for reference in references:
        try:
            found[reference] = client().images.get(reference).id
        except docker.errors.ImageNotFound:
            found[reference] = None
        except docker.errors.APIError as exc:
            raise BuildError(f"cannot inspect image {reference}: {_short(exc)}") from exc
    return found
