"""Registry credentials where `docker login` keeps them: docker's config file
(`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`) with its `auths`,
`credsStore` and `credHelpers`, read through the docker SDK (`docker.auth`), which also
runs the credential helpers (`docker-credential-…`).

A secret read here goes into one request header, built by registry.py for the
registry's own origin or its token service over https; repr() and str() never show
it, and no message names more than the registry host."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from slim_bake.errors import BuildError
from slim_bake.safe_text import printable


@dataclass(frozen=True)
class Credentials:
    """A user and password, or an identity (refresh) token, for one registry."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)

    def basic(self) -> str:
        """The value of an `Authorization: Basic …` header."""
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


def lookup(host: str) -> Credentials | None:
    """The credentials docker's config holds for `host` (as written in the reference:
    docker.io, ghcr.io, 127.0.0.1:5000), else None: anonymous. Without the docker SDK
    (`slim-bake[bake]`) there are none."""
    try:
        import docker.auth
        import docker.errors
    except ImportError:
        return None
    try:
        found = docker.auth.resolve_authconfig(docker.auth.load_config(), host)
    except (docker.errors.DockerException, OSError, ValueError) as exc:
        # The SDK's messages name the store and the host, never a secret it read.
        reason = printable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise BuildError(
            f"cannot read the credentials for {printable(host)} from docker's config: {reason}"
        ) from None
    return _credentials(found) if isinstance(found, dict) else None


def _credentials(entry: dict[str, object]) -> Credentials | None:
    def text(*keys: str) -> str:
        value = next((entry[k] for k in keys if entry.get(k)), "")
        return value if isinstance(value, str) else ""

    token = text("IdentityToken", "identitytoken")
    if token:
        return Credentials(identity_token=token)
    username, password = text("Username", "username"), text("Password", "password")
    if not username and not password:
        return None  # an empty `auths` entry: the credential store had nothing either
    return Credentials(username, password)
