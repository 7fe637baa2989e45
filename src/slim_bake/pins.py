"""A base image tag → the digest of its manifest (or index), for `slim pin`: from the
registry when it answers, else from the local engine (the image's RepoDigests).

The registry is asked through slim_bake.registry, the one registry client (token bound
to the registry's origin, no redirect followed with it, timeouts, size caps): a GET of
`/v2/<repository>/manifests/<tag>` accepting the OCI and Docker index and manifest
types, whose body's SHA-256 is the digest a pull by digest asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass

from slim_bake.errors import SlimError
from slim_bake.pinfile import parse_reference
from slim_bake.registry import Registry, digest_of

TIMEOUT = 10.0  # seconds per request
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")


@dataclass(frozen=True)
class Found:
    digest: str | None
    source: str  # "registry", "local engine", or why none was found


class Unreachable(Exception):
    """The registry did not answer usefully; the reason, for the user."""


def registry_digest(image: str, timeout: float = TIMEOUT) -> str:
    """The digest the registry gives `image`'s tag; Unreachable otherwise."""
    ref = parse_reference(image)
    if ref is None:
        raise Unreachable("not an image reference")
    try:
        body, _ = Registry(ref.host, timeout=timeout).manifest(ref.path, ref.tag or "latest")
    except SlimError as exc:  # NotFound, unreachable, refused redirect, oversized, bad host
        raise Unreachable(str(exc)) from None
    return digest_of(body)


def engine_digest(image: str) -> tuple[str | None, str]:
    """The repository digest the local engine recorded for `image` (a pull or push
    records one; an image built or loaded locally has none), or why there is none."""
    from slim_bake.engine import client
    from slim_bake.errors import BuildError

    ref = parse_reference(image)
    if ref is None:
        return None, "not an image reference"
    try:
        engine = client()  # BuildError without the docker SDK or an engine
    except BuildError as exc:
        return None, f"and no local engine: {exc}"
    import docker

    try:
        found = engine.images.get(image)
    except docker.errors.ImageNotFound:
        return None, "not in the local engine either"
    for entry in found.attrs.get("RepoDigests") or ():
        name, _, digest = str(entry).partition("@")
        named = parse_reference(name)
        same = named is not None and (named.host, named.path) == (ref.host, ref.path)
        if same and _DIGEST.fullmatch(digest):
            return digest, "local engine"
    return None, "the local image has no repository digest (built or loaded here)"


def resolve_digest(image: str, *, registry: bool = True) -> Found:
    """`image`'s digest from its registry, else from the local engine; the reasons
    when neither knows it."""
    reason = "registry not asked"
    if registry:
        try:
            return Found(registry_digest(image), "registry")
        except Unreachable as exc:
            reason = str(exc)
    digest, source = engine_digest(image)
    return Found(digest, source if digest else f"{reason}; {source}")
